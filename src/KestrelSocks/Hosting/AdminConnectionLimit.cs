using Microsoft.AspNetCore.Connections;

namespace KestrelSocks.Hosting;

/// <summary>
/// Caps connections to the admin listeners, which run on descriptors the budget keeps in reserve rather than on the
/// budget itself. A scraper and a few probes need a handful; past the cap a connection is closed at once.
/// </summary>
internal static class AdminConnectionLimit
{
    public const int DefaultLimit = 64;

    public static Func<ConnectionDelegate, ConnectionDelegate> Create(int limit)
    {
        var open = 0;
        return next => async connection =>
        {
            if (Interlocked.Increment(ref open) > limit)
            {
                Interlocked.Decrement(ref open);
                return;
            }

            try
            {
                await next(connection);
            }
            finally
            {
                Interlocked.Decrement(ref open);
            }
        };
    }
}
