using System.Buffers;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Storage;

namespace Allocation.Service.Persistence;

/// <summary>
/// Grain state, receipts and closed cases as stored in PostgreSQL: Orleans' own binary format (the one grain calls
/// already use, version-tolerant by the <c>[Id]</c> of each member), behind a two-byte marker. It is a fraction of the
/// JSON's size and cost: no property names, no text numbers or dates, so a worker's state stays under PostgreSQL's
/// compression threshold, and the bytes written (and their WAL) shrink with it. Rows written as JSON by an earlier
/// version (a JSON document never starts with the marker, which is not UTF-8) are still read, and are rewritten in
/// the binary format with their grain's next write.
/// </summary>
public sealed class BinaryGrainStorageSerializer(Serializer serializer, IOptions<SystemTextJsonGrainStorageSerializerOptions> jsonOptions)
    : IGrainStorageSerializer
{
    /// <summary>0xFF begins no UTF-8 text; the second byte is the format's version.</summary>
    private static readonly byte[] Marker = [0xFF, 0x01];

    private readonly SystemTextJsonGrainStorageSerializer _json = new(jsonOptions);

    public BinaryData Serialize<T>(T? input)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write(Marker);
        serializer.Serialize(input, buffer);
        return new BinaryData(buffer.WrittenMemory);
    }

    public T? Deserialize<T>(BinaryData input)
    {
        var bytes = input.ToMemory();
        return IsBinary(bytes.Span) ? serializer.Deserialize<T>(bytes[Marker.Length..]) : _json.Deserialize<T>(input);
    }

    /// <summary>Whether a stored payload is in this format (else it is an earlier version's JSON).</summary>
    public static bool IsBinary(ReadOnlySpan<byte> payload) => payload.StartsWith(Marker);
}
