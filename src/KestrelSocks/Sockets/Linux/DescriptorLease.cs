using System.Runtime.InteropServices;

namespace KestrelSocks.Sockets.Linux;

/// <summary>
/// Holds a reference on a socket's handle for the length of a native call, so a concurrent close cannot release the
/// descriptor (and let the kernel hand its number to another file) while the call uses it. Throws
/// <see cref="ObjectDisposedException"/> when the handle is already closed.
/// </summary>
internal ref struct DescriptorLease
{
    private readonly SafeHandle _handle;
    private bool _added;

    public DescriptorLease(SafeHandle handle)
    {
        _handle = handle;
        _added = false;
        handle.DangerousAddRef(ref _added);
        Descriptor = (int)handle.DangerousGetHandle();
    }

    public int Descriptor { get; }

    public void Dispose()
    {
        if (_added)
        {
            _added = false;
            _handle.DangerousRelease();
        }
    }
}
