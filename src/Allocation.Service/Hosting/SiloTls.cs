using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace Allocation.Service.Hosting;

/// <summary>
/// Mutual TLS between silos (section <c>Orleans:Tls</c>). Each silo presents its certificate and accepts a peer only if
/// the peer presents one too, and that one chains to the configured CA (<c>CaPath</c>) or, without a CA, is the very
/// same certificate. With no certificate configured the silo makes one of its own at start: a single node works as
/// before, encrypted, and nothing else, not even a second node, can join it. A cluster of several nodes needs the
/// certificate (or certificates from one CA) configured on each.
/// </summary>
public sealed class SiloTls
{
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2? _ca;

    private SiloTls(X509Certificate2 certificate, X509Certificate2? ca) => (_certificate, _ca) = (certificate, ca);

    /// <summary>True when the certificate was made at start rather than configured.</summary>
    public bool SelfMade { get; private init; }

    public static SiloTls From(IConfigurationSection section)
    {
        var path = section["CertificatePath"];
        var ca = section["CaPath"] is { Length: > 0 } caPath ? X509CertificateLoader.LoadCertificateFromFile(caPath) : null;
        if (string.IsNullOrWhiteSpace(path))
        {
            return new SiloTls(MakeOwn(), ca) { SelfMade = true };
        }

        var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, section["CertificatePassword"]);
        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"Orleans:Tls:CertificatePath '{path}' holds no private key: give the silo's PKCS#12 (.pfx) file.");
        }

        return new SiloTls(certificate, ca);
    }

    public void Configure(TlsOptions options)
    {
        options.LocalCertificate = _certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        // Peers are addressed by IP, so the platform's name check cannot pass: trust is decided here instead.
        options.RemoteCertificateValidation = (certificate, _, _) => IsPeer(certificate);
    }

    private bool IsPeer(X509Certificate2 certificate)
    {
        if (_ca is null)
        {
            return certificate.RawData.AsSpan().SequenceEqual(_certificate.RawData);
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>A certificate for this process alone (server and client authentication), never written anywhere.</summary>
    public static X509Certificate2 MakeOwn(string subject = "CN=allocation-silo")
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        // Through PKCS#12 so that the private key can be used by the TLS stack on every platform.
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null);
    }
}
