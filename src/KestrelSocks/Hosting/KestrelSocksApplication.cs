using KestrelSocks.Configuration;
using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace KestrelSocks.Hosting;

/// <summary>Builds the whole proxy host: the executable and the end-to-end tests start exactly the same thing.</summary>
public static class KestrelSocksApplication
{
    /// <summary>
    /// Runs socket completions inline on the socket engine's threads unless the environment already says otherwise.
    /// The runtime reads the switch once, when the first socket is used, so an executable calls this first of all;
    /// a test host gets it from its own environment instead. See README, "Threads".
    /// </summary>
    public static void UseInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(SocketEngineThread.InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(SocketEngineThread.InlineCompletionsVariable, "1");
        }
    }

    /// <summary>The command-line option that names an extra JSON settings file.</summary>
    public const string ConfigFileKey = "config";

    /// <summary>
    /// Builds the host from <paramref name="args"/>. Throws <see cref="StartupException"/> when the content root is
    /// missing or the <c>--config</c> file is missing or not JSON.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        if (OperatorContentRoot(args) is { } root && !Directory.Exists(root))
        {
            throw new StartupException($"the content root {Path.GetFullPath(root)} (--contentRoot, DOTNET_CONTENTROOT or ASPNETCORE_CONTENTROOT) does not exist.",
                ExitCodes.InvalidConfiguration);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = OperatorContentRoot(args) is null ? AppContext.BaseDirectory : null,
        });
        AddConfigFile(builder.Configuration, args);
        ConfigureLogging(builder);
        builder.Services.AddKestrelSocks();
        configure?.Invoke(builder);

        WebApplication app;
        try
        {
            app = builder.Build();
        }
        catch (InvalidOperationException e) when (IsBindFailure(e))
        {
            // Building the host reads the options (the shutdown timeout comes from them): a value the binder cannot
            // convert fails here, before any validator ran.
            throw new StartupException(DescribeBindFailure(e, builder.Configuration), ExitCodes.InvalidConfiguration);
        }

        MapAdminEndpoints(app);
        return app;
    }

    /// <summary>A value the binder could not convert, such as "ten seconds" for a TimeSpan; its message names the key.</summary>
    internal static bool IsBindFailure(InvalidOperationException e) => e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The binder's message, and every misspelt or unindexed key beside it: the validators that name those never ran,
    /// and each would otherwise surface only at the next attempt.
    /// </summary>
    internal static string DescribeBindFailure(InvalidOperationException e, IConfiguration configuration) =>
        e.Message + string.Concat(ConfigurationKeys.Check(configuration.GetSection(KestrelSocksOptions.SectionName), typeof(KestrelSocksOptions))
            .Select(static k => $"{Environment.NewLine}  - {k}"));

    /// <summary>
    /// The content root the operator chose (<c>--contentRoot</c>, <c>DOTNET_CONTENTROOT</c>, <c>ASPNETCORE_CONTENTROOT</c>),
    /// or null. Without one the host would use the working directory, and a server started from anywhere else would
    /// silently run without its appsettings.json; the application's own directory is where that file is installed.
    /// </summary>
    public static string? OperatorContentRoot(string[] args)
    {
        var host = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build();
        return host[HostDefaults.ContentRootKey] is { Length: > 0 } root ? root : null;
    }

    /// <summary>The content root <see cref="Build"/> uses for <paramref name="args"/>.</summary>
    public static string ContentRoot(string[] args) => Path.GetFullPath(OperatorContentRoot(args) ?? AppContext.BaseDirectory);

    /// <summary>
    /// <c>--config FILE</c>: read after appsettings.json and appsettings.{Environment}.json, before environment
    /// variables and the command line, so a file carries a site's settings and the usual overrides still win. A
    /// relative path is taken from the working directory, as a shell user means it.
    /// </summary>
    private static void AddConfigFile(ConfigurationManager configuration, string[] args)
    {
        if (new ConfigurationBuilder().AddCommandLine(args).Build()[ConfigFileKey] is not { } file)
        {
            return;
        }

        var path = Path.GetFullPath(file);
        if (!File.Exists(path))
        {
            throw new StartupException($"--config {file}: {path} does not exist.", ExitCodes.InvalidConfiguration);
        }

        var source = new JsonConfigurationSource { Path = path, Optional = false, ReloadOnChange = true };
        source.ResolveFileProvider();
        var sources = configuration.Sources;
        // After appsettings.{Environment}.json, so also before Development's user secrets, which are JSON too.
        var lastJson = -1;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is JsonConfigurationSource { Path: { } name } && name.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase))
            {
                lastJson = i;
            }
        }

        try
        {
            // Inserting loads the file at once: a syntax error surfaces here, with the file named.
            sources.Insert(lastJson + 1, source);
        }
        catch (InvalidDataException e)
        {
            throw new StartupException($"--config {file}: {e.InnerException?.Message ?? e.Message}", ExitCodes.InvalidConfiguration);
        }
    }

    private static void ConfigureLogging(WebApplicationBuilder builder)
    {
        // One line per event with a UTC timestamp, or JSON with Logging:Console:FormatterName=json: the slim builder
        // registers only the simple formatter.
        builder.Logging.AddJsonConsole(json =>
        {
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            json.UseUtcTimestamp = true;
        });
        builder.Logging.AddSimpleConsole(simple =>
        {
            simple.SingleLine = true;
            simple.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            simple.UseUtcTimestamp = true;
        });

        // Both calls above choose a formatter and its options in code, after the configuration was bound; binding
        // the section again lets Logging:Console:FormatterName and FormatterOptions choose instead.
        var console = builder.Configuration.GetSection("Logging:Console");
        builder.Services.Configure<ConsoleLoggerOptions>(console);
        builder.Services.Configure<SimpleConsoleFormatterOptions>(console.GetSection("FormatterOptions"));
        builder.Services.Configure<JsonConsoleFormatterOptions>(console.GetSection("FormatterOptions"));

        // The lifetime's "Now listening on: http://..." calls every SOCKS listener HTTP; StartupReporter names each
        // listener for what it is and says what else the lifetime said (version, environment, content root).
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);

        // The host logs a failed start with its whole stack trace before rethrowing it; the command line prints one
        // line for it (KestrelSocksCommandLine). Critical still shows a background service stopping the host.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
    }

    private static void MapAdminEndpoints(WebApplication app)
    {
        // Only the admin listeners speak HTTP; the SOCKS listeners never reach this pipeline.
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
    }
}
