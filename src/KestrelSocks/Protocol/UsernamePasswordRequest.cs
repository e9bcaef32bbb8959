using System.Diagnostics.CodeAnalysis;

namespace KestrelSocks.Protocol;

/// <summary>
/// The RFC 1929 sub-negotiation request. Both fields are 0 to 255 bytes. The password never leaves this struct
/// as a string, so it cannot end up in a log by accident.
/// </summary>
internal struct UsernamePasswordRequest
{
    private AddressBuffer _username;
    private AddressBuffer _password;
    private byte _usernameLength;
    private byte _passwordLength;

    public UsernamePasswordRequest(ReadOnlySpan<byte> username, ReadOnlySpan<byte> password)
    {
        if (username.Length > 255 || password.Length > 255)
        {
            throw new ArgumentException("RFC 1929 usernames and passwords are at most 255 bytes.");
        }

        username.CopyTo(_username);
        password.CopyTo(_password);
        _usernameLength = (byte)username.Length;
        _passwordLength = (byte)password.Length;
    }

    [UnscopedRef]
    public readonly ReadOnlySpan<byte> Username => ((ReadOnlySpan<byte>)_username)[.._usernameLength];

    [UnscopedRef]
    public readonly ReadOnlySpan<byte> Password => ((ReadOnlySpan<byte>)_password)[.._passwordLength];

    public override readonly string ToString() => $"UsernamePasswordRequest({Username.Length}-byte username, password withheld)";
}
