using KestrelSocks.FunctionalTests.Infrastructure;

namespace KestrelSocks.FunctionalTests.LoadBalancer;

/// <summary>The namespace harness itself: links, routes, processes inside namespaces, and a cleanup that leaves nothing.</summary>
[Collection(RunsAloneCollection.Name)]
public sealed class NetworkNamespacesTests
{
    [NetworkNamespaceFact]
    public async Task Namespaces_AreRoutedThroughTheHub_AndAllDeletedOnDispose()
    {
        string[] names;
        await using (var network = await NetworkNamespaces.CreateAsync("a", "b"))
        {
            names = [.. network.Namespaces];
            Assert.Equal(3, names.Length);
            var listed = await NetworkNamespaces.ListAllAsync();
            Assert.All(names, name => Assert.Contains(name, listed));

            // A listener in b, reached from a across two links and the hub's forwarding.
            var server = network.Start("b", NetworkNamespaces.PythonPath, "-c",
                $"import socket; s = socket.create_server(('{network.AddressOf("b")}', 7000)); print('ready', flush=True); " +
                "c, peer = s.accept(); print(peer[0], flush=True); c.sendall(c.recv(64)); c.close()");
            await server.WaitForLineAsync(line => line == "ready", TestTimeouts.Default);
            var client = await network.RunAsync("a", TestTimeouts.Default, NetworkNamespaces.PythonPath, "-c",
                $"import socket; c = socket.create_connection(('{network.AddressOf("b")}', 7000), timeout=5); c.sendall(b'ping'); print(c.recv(64).decode())");
            Assert.True(client.ExitCode == 0, client.StandardError);
            Assert.Equal("ping", client.StandardOutput.Trim());

            // The source address is a's own: the hub routes, it does not masquerade.
            Assert.Equal(network.AddressOf("a").ToString(), await server.WaitForLineAsync(line => line != "ready", TestTimeouts.Default));

            // A process left running is killed by the cleanup, not waited for.
            _ = network.Start("a", NetworkNamespaces.PythonPath, "-c", "import time; time.sleep(600)");

            // The host's own namespace is untouched: no route to 10.77.0.0/16 here.
            var host = await CommandResult.RunAsync(NetworkNamespaces.IpPath!, ["route", "get", network.AddressOf("b").ToString()], TestTimeouts.Default);
            Assert.DoesNotContain("to-", host.StandardOutput, StringComparison.Ordinal);
        }

        var left = await NetworkNamespaces.ListAllAsync();
        Assert.All(names, name => Assert.DoesNotContain(name, left));
    }
}
