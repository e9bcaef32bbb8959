using KestrelSocks.Hosting;

// Socket completions run on the socket engine's own threads instead of hopping to the thread pool, the way an
// event-loop C server handles readiness: a small message is relayed on the thread that learnt it had arrived. Tunnels
// move bulk transfers back to the thread pool themselves (Relay/SocketTunnel.cs). The runtime reads the switch once,
// when the first socket is used, so it is set here, before anything else; an operator's own
// DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS wins.
KestrelSocksApplication.UseInlineSocketCompletions();

// Commands (hash-password, check-config), --help, --version, and the proxy itself; exit codes in --help and the README.
return await KestrelSocksCommandLine.RunAsync(args);
