using KestrelSocks.Hosting;
using Microsoft.Extensions.Options;

if (args is [HashPasswordCommand.Name, .. var options])
{
    return HashPasswordCommand.Run(options);
}

// Socket completions run on the socket engine's own threads instead of hopping to the thread pool, the way an
// event-loop C server handles readiness: a small message is relayed on the thread that learnt it had arrived. Tunnels
// move bulk transfers back to the thread pool themselves (Relay/SocketTunnel.cs). The runtime reads the switch once,
// when the first socket is used, so it is set here, before anything else; an operator's own
// DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS wins.
KestrelSocksApplication.UseInlineSocketCompletions();

try
{
    var app = KestrelSocksApplication.Build(args);
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    // Bad settings stop the process before it listens, with every problem named.
    Console.Error.WriteLine("KestrelSocks cannot start: invalid configuration.");
    foreach (var failure in e.Failures)
    {
        Console.Error.WriteLine($"  - {failure}");
    }

    return 2;
}
catch (InvalidOperationException e) when (e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
{
    // A value the binder could not convert, such as "ten seconds" for a TimeSpan; its message names the key.
    Console.Error.WriteLine($"KestrelSocks cannot start: {e.Message}");
    return 2;
}
catch (IOException e)
{
    // Typically a listener address already in use or not available on this host.
    Console.Error.WriteLine($"KestrelSocks cannot start: {e.Message}");
    return 3;
}
