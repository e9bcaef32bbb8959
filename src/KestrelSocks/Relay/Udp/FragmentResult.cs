namespace KestrelSocks.Relay.Udp;

internal enum FragmentResult
{
    Pending,
    Complete,
    Dropped,
}
