namespace KestrelSocks.Session;

/// <summary>What the parsing step made of the bytes at hand.</summary>
internal enum HandshakeStep
{
    NeedMoreBytes,
    RequestReady,

    /// <summary>Credentials have been read: the caller checks them (asynchronously), answers, and parses on.</summary>
    CredentialsReady,

    /// <summary>A failure answer (method FF, auth status, or a reply) has been written; close once it is flushed.</summary>
    Failed,
}
