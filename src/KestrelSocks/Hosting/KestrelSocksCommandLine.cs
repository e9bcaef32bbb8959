using System.Net;
using System.Net.Sockets;
using KestrelSocks.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Hosting;

/// <summary>
/// The executable's command line: run the proxy, <c>check-config</c>, <c>hash-password</c>, <c>--help</c> and
/// <c>--version</c>. Every start failure the operator can fix ends in one line on standard error and an exit code
/// from <see cref="ExitCodes"/>.
/// </summary>
public static class KestrelSocksCommandLine
{
    public const string CheckConfigName = "check-config";

    private static readonly string[] _commands = [CheckConfigName, HashPasswordCommand.Name];

    public static async Task<int> RunAsync(string[] args)
    {
        switch (args)
        {
            case [HashPasswordCommand.Name, .. var hashOptions]:
                return HashPasswordCommand.Run(hashOptions);
            case [CheckConfigName, .. var settings]:
                return CheckConfig(settings);
            case [var first, ..] when !first.StartsWith('-') && !first.StartsWith('/'):
                // The configuration parser would skip it silently and start the server: a mistyped command must not.
                var suggestion = ConfigurationKeys.Closest(first, _commands);
                Console.Error.WriteLine($"KestrelSocks: unknown command '{first}'{(suggestion is null ? "" : $"; did you mean {suggestion}?")} See --help.");
                return ExitCodes.InvalidConfiguration;
        }

        if (args.Any(static a => a is "--help" or "-h" or "-?" or "/?"))
        {
            Console.Out.Write(Help(args));
            return ExitCodes.Success;
        }

        if (args.Contains("--version"))
        {
            Console.Out.WriteLine(VersionLine);
            return ExitCodes.Success;
        }

        KestrelSocksOptions? options = null;
        IConfiguration? configuration = null;
        try
        {
            var app = KestrelSocksApplication.Build(args);
            configuration = app.Configuration;

            // Read before the run, which disposes the services when the start fails: a listen failure is described
            // with the settings. Reading them validates them, as the start would.
            options = app.Services.GetRequiredService<IOptions<KestrelSocksOptions>>().Value;
            await app.RunAsync();
            return ExitCodes.Success;
        }
        catch (Exception e) when (Describe(e, options, configuration) is { } failure)
        {
            Console.Error.WriteLine($"KestrelSocks cannot start: {failure.Message}");
            return failure.ExitCode;
        }
        catch (Exception e)
        {
            // Unhandled, the runtime would abort (exit code 134) and hide what happened from a service manager's status.
            Console.Error.WriteLine($"KestrelSocks stopped on an unexpected error: {e}");
            return ExitCodes.Unexpected;
        }
    }

    public static string VersionLine => $"KestrelSocks {Diagnostics.BuildInfo.Current.Version} (commit {Diagnostics.BuildInfo.Current.Commit})";

    /// <summary>Builds the host and runs every start-time check, without starting it: nothing listens.</summary>
    private static int CheckConfig(string[] args)
    {
        if (args.Any(static a => a is "--help" or "-h"))
        {
            Console.Out.WriteLine($"Usage: KestrelSocks.Server {CheckConfigName} [--config FILE] [--SETTING=VALUE ...]");
            Console.Out.WriteLine("  Validates every setting and the users file as a start would, prints OK or each problem, exits 0 or 2. Does not listen.");
            return ExitCodes.Success;
        }

        IConfiguration? configuration = null;
        try
        {
            using var app = KestrelSocksApplication.Build(args);
            configuration = app.Configuration;

            // ValidateOnStart's validators, run now rather than by the host's start.
            app.Services.GetService<IStartupValidator>()?.Validate();
            _ = app.Services.GetRequiredService<IOptions<KestrelSocksOptions>>().Value;
            Console.Out.WriteLine($"OK: the configuration is valid (settings files: {string.Join(", ", SettingsFiles(app.Configuration))}).");
            return ExitCodes.Success;
        }
        catch (Exception e) when (Describe(e, options: null, configuration) is { } failure)
        {
            Console.Error.WriteLine($"KestrelSocks {CheckConfigName}: {failure.Message}");
            return failure.ExitCode;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"KestrelSocks {CheckConfigName}: unexpected error: {e}");
            return ExitCodes.Unexpected;
        }
    }

    /// <summary>The one line (or list) for a failure the operator can fix; null for anything unforeseen, printed whole with exit code 1.</summary>
    private static (string Message, int ExitCode)? Describe(Exception e, KestrelSocksOptions? options, IConfiguration? configuration)
    {
        switch (e)
        {
            case StartupException startup:
                return (startup.Message, startup.ExitCode);
            case OptionsValidationException validation:
                // Bad settings stop the process before it listens, with every problem named.
                return ("invalid configuration." + string.Concat(validation.Failures.Select(static f => $"{Environment.NewLine}  - {f}")), ExitCodes.InvalidConfiguration);
            case AggregateException aggregate when aggregate.InnerExceptions.All(static i => i is OptionsValidationException):
                return ("invalid configuration." + string.Concat(aggregate.InnerExceptions.Cast<OptionsValidationException>()
                    .SelectMany(static v => v.Failures).Select(static f => $"{Environment.NewLine}  - {f}")), ExitCodes.InvalidConfiguration);
            case InvalidOperationException binding when KestrelSocksApplication.IsBindFailure(binding):
                return (configuration is null ? e.Message : KestrelSocksApplication.DescribeBindFailure(binding, configuration), ExitCodes.InvalidConfiguration);
            case IOException when IsListenFailure(e):
                return (DescribeListenFailure(e, options), ExitCodes.ListenFailed);
            default:
                return null;
        }
    }

    /// <summary>Kestrel's bind failure wraps the socket's error (SocketTransportFactory wraps the rest the same way).</summary>
    private static bool IsListenFailure(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException or AddressInUseException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Kestrel names a listener it cannot bind <c>http://ADDRESS</c>, whatever it serves: say which of ours it is and
    /// the setting it comes from, with the operating system's reason.
    /// </summary>
    private static string DescribeListenFailure(Exception e, KestrelSocksOptions? options)
    {
        var reason = e;
        while (reason.InnerException is not null)
        {
            reason = reason.InnerException;
        }

        if (options is not null)
        {
            foreach (var (listen, role, key) in Listeners(options))
            {
                if (EndPointParser.TryParse(listen, out var endPoint) && (e.Message.Contains($"//{endPoint}:", StringComparison.Ordinal) || e.Message.Contains($" {endPoint}:", StringComparison.Ordinal)))
                {
                    return $"cannot listen for {role} on {endPoint} ({key}): {reason.Message}.";
                }
            }
        }

        return e.Message;
    }

    private static IEnumerable<(string Listen, string Role, string Key)> Listeners(KestrelSocksOptions options)
    {
        foreach (var listen in options.EffectiveListen)
        {
            yield return (listen, "SOCKS5", $"{KestrelSocksOptions.SectionName}:Listen");
        }

        if (options.Admin.Enabled)
        {
            foreach (var listen in options.Admin.EffectiveListen)
            {
                yield return (listen, "metrics and health (HTTP)", $"{KestrelSocksOptions.SectionName}:Admin:Listen");
            }
        }
    }

    private static List<string> SettingsFiles(IConfiguration configuration)
    {
        var files = ((IConfigurationRoot)configuration).Providers.OfType<FileConfigurationProvider>()
            .Select(static p => p.Source.FileProvider?.GetFileInfo(p.Source.Path ?? "") is { Exists: true, PhysicalPath: { } path } ? path : null)
            .OfType<string>()
            .ToList();
        return files.Count == 0 ? ["none"] : files;
    }

    private static string Help(string[] args)
    {
        var contentRoot = KestrelSocksApplication.ContentRoot(args);
        var endPoint = new IPEndPoint(IPAddress.Loopback, 1080);
        return $"""
            {VersionLine}: a SOCKS5 proxy (RFC 1928, RFC 1929 username/password).

            Usage:
              KestrelSocks.Server [OPTIONS] [--SETTING=VALUE ...]      run the proxy
              KestrelSocks.Server {CheckConfigName} [OPTIONS] [--SETTING=VALUE ...]
                  validate every setting and the users file as a start would, print OK or each problem, exit 0 or 2;
                  does not listen
              KestrelSocks.Server {HashPasswordCommand.Name} [--user NAME] [--iterations N]
                  read a password from standard input and print its hash for KestrelSocks:Authentication:UsersFile

            Options:
              --config FILE         an extra JSON settings file, read after appsettings.json and
                                    appsettings.{"{Environment}"}.json and before environment variables and the command line;
                                    a relative path is taken from the working directory
              --contentRoot DIR     where appsettings.json and relative paths (such as the users file) are read from
                                    (also DOTNET_CONTENTROOT, ASPNETCORE_CONTENTROOT); default: the application's directory
              --environment NAME    reads appsettings.NAME.json too (also DOTNET_ENVIRONMENT); default Production
              --SECTION:KEY=VALUE   any setting, such as --KestrelSocks:Listen:0={endPoint}; as an environment variable
                                    KestrelSocks__Listen__0={endPoint}. A list takes an index (:0, :1, ...); an unknown
                                    key under KestrelSocks: stops the start
              --Logging:Console:FormatterName=json
                                    JSON log lines instead of one plain line per event
              --help, -h            this text
              --version             the version and the commit it was built from

            Settings file: {Path.Combine(contentRoot, "appsettings.json")}
            Settings are read in this order, later ones winning: appsettings.json, appsettings.{"{Environment}"}.json,
            --config FILE, environment variables, the command line.

            Exit codes:
              {ExitCodes.Success}  stopped cleanly (or help, version, a valid check-config)
              {ExitCodes.Unexpected}  unexpected error; the exception is printed
              {ExitCodes.InvalidConfiguration}  invalid configuration, users file, --config file or command line; each problem is named
              {ExitCodes.ListenFailed}  a listener could not bind (address in use, not on this host, or not permitted)

            """;
    }
}
