namespace KestrelSocks.Configuration;

/// <summary>
/// One rule of <see cref="AccessOptions.Rules"/>. Every condition that is set must match; an empty one matches
/// anything. Values are text so that a typo is reported with its setting's name instead of failing the binder.
/// </summary>
internal sealed class AccessRuleOptions
{
    /// <summary>Unique and required: it names the rule in metrics and logs.</summary>
    public string Name { get; set; } = "";

    /// <summary><c>Allow</c> or <c>Deny</c>.</summary>
    public string Action { get; set; } = "";

    /// <summary>CIDR networks the client connects from.</summary>
    public string[] Clients { get; set; } = [];

    /// <summary>Authenticated usernames (case-sensitive); an anonymous session matches no name.</summary>
    public string[] Users { get; set; } = [];

    /// <summary>Groups of the authenticated user (case-sensitive).</summary>
    public string[] Groups { get; set; } = [];

    /// <summary><c>Connect</c>, <c>Bind</c> or <c>Udp</c>.</summary>
    public string[] Commands { get; set; } = [];

    /// <summary>CIDR networks every address actually tried (after name resolution) or datagram destination must lie in.</summary>
    public string[] Destinations { get; set; } = [];

    /// <summary>
    /// Destination names: <c>example.com</c> (that name), <c>.example.com</c> (it and its subdomains),
    /// <c>*.example.com</c> (subdomains only), <c>*</c> (any name). A destination given as an address matches none.
    /// </summary>
    public string[] Domains { get; set; } = [];

    /// <summary>Destination ports or ranges: <c>443</c>, <c>8000-8999</c>.</summary>
    public string[] Ports { get; set; } = [];
}
