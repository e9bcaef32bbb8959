using System.Text;

namespace KestrelSocks.Access;

/// <summary>
/// A destination name a rule matches, compared as ASCII without regard to case and without a trailing dot:
/// <c>example.com</c> that name only, <c>.example.com</c> it and every name below it, <c>*.example.com</c> only the
/// names below it, <c>*</c> any name. Internationalized names are written in their ASCII (<c>xn--</c>) form, the form
/// they take on the wire.
/// </summary>
internal sealed class DomainPattern
{
    private readonly byte[] _name;
    private readonly Kind _kind;

    private DomainPattern(Kind kind, byte[] name)
    {
        _kind = kind;
        _name = name;
    }

    private enum Kind
    {
        Exact,
        WithSubdomains,
        SubdomainsOnly,
        Any,
    }

    /// <summary>Null with <paramref name="error"/> set when <paramref name="text"/> is not a pattern.</summary>
    public static DomainPattern? Parse(string? text, out string? error)
    {
        error = null;
        var pattern = text?.Trim() ?? "";
        if (pattern == "*")
        {
            return new DomainPattern(Kind.Any, []);
        }

        var kind = Kind.Exact;
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            kind = Kind.SubdomainsOnly;
            pattern = pattern[2..];
        }
        else if (pattern.StartsWith('.'))
        {
            kind = Kind.WithSubdomains;
            pattern = pattern[1..];
        }

        if (pattern.EndsWith('.'))
        {
            pattern = pattern[..^1];
        }

        if (pattern.Length is 0 or > 253)
        {
            error = "is not a domain name of 1 to 253 characters";
            return null;
        }

        if (!Ascii.IsValid(pattern))
        {
            error = "is not ASCII; write an internationalized name in its xn-- form";
            return null;
        }

        foreach (var c in pattern)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                error = c == '*'
                    ? "has a '*' that is not its leading '*.'; use *.example.com (subdomains only) or .example.com (the name and its subdomains)"
                    : $"has the character '{c}', which no domain name holds";
                return null;
            }
        }

        if (pattern.StartsWith('.') || pattern.Contains("..", StringComparison.Ordinal))
        {
            error = "has an empty label";
            return null;
        }

        return new DomainPattern(kind, Encoding.ASCII.GetBytes(pattern.ToLowerInvariant()));
    }

    /// <summary><paramref name="domain"/> without its trailing dot, as bytes from the wire.</summary>
    public bool Matches(ReadOnlySpan<byte> domain)
    {
        switch (_kind)
        {
            case Kind.Any:
                return !domain.IsEmpty;
            case Kind.Exact:
                return Ascii.EqualsIgnoreCase(domain, _name);
            case Kind.WithSubdomains when domain.Length == _name.Length:
                return Ascii.EqualsIgnoreCase(domain, _name);
            default:
                return domain.Length > _name.Length
                    && domain[^(_name.Length + 1)] == (byte)'.'
                    && Ascii.EqualsIgnoreCase(domain[^_name.Length..], _name);
        }
    }

    public override string ToString() => _kind switch
    {
        Kind.Any => "*",
        Kind.WithSubdomains => "." + Encoding.ASCII.GetString(_name),
        Kind.SubdomainsOnly => "*." + Encoding.ASCII.GetString(_name),
        _ => Encoding.ASCII.GetString(_name),
    };
}
