using System.Net;
using System.Net.Sockets;

namespace Allocation.Tests.Infrastructure;

public static class FreePorts
{
    /// <summary>A loopback port free right now (the OS picks it), so parallel runs never collide on fixed ports.</summary>
    public static int Next(IPAddress? address = null)
    {
        using var listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
