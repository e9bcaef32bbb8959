using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace KestrelSocks.Configuration;

/// <summary>
/// Finds configuration keys the binder would silently drop: a name no options property has (a typo such as
/// <c>Limits:IdelTimeout</c>), and a list setting given as one value without an index
/// (<c>Access:DeniedDestinations=127.0.0.0/8</c>), which the binder ignores so that a security rule is simply not
/// applied. The valid keys come from the options types themselves, so a new setting is covered as soon as it exists.
/// </summary>
internal static class ConfigurationKeys
{
    /// <summary>Every problem under <paramref name="section"/>, each naming the key and, for a typo, the closest valid one.</summary>
    public static List<string> Check(IConfigurationSection section, Type optionsType)
    {
        var errors = new List<string>();
        CheckObject(section, optionsType, errors);
        return errors;
    }

    private static void CheckObject(IConfigurationSection section, Type type, List<string> errors)
    {
        var properties = BindableProperties(type);
        foreach (var child in section.GetChildren())
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                var suggestion = Closest(child.Key, properties.Keys);
                errors.Add(suggestion is null
                    ? $"{child.Path} is not a setting."
                    : $"{child.Path} is not a setting; did you mean {ConfigurationPath.Combine(section.Path, suggestion)}?");
                continue;
            }

            CheckValue(child, property.PropertyType, errors);
        }
    }

    private static void CheckValue(IConfigurationSection section, Type type, List<string> errors)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        var hasChildren = section.GetChildren().Any();
        if (IsScalar(type))
        {
            if (hasChildren)
            {
                errors.Add($"{section.Path} is a single value, not a section: set {section.Path}=VALUE.");
            }

            return;
        }

        // An empty JSON array or object arrives as a key with no value: nothing to bind, nothing wrong. A value is
        // ignored whether or not indexed items sit beside it (one source may give the value, another the items).
        if (!string.IsNullOrEmpty(section.Value))
        {
            errors.Add(ElementType(type) is null || DictionaryValueType(type) is not null
                ? $"{section.Path} is a section: its value is ignored; set {section.Path}:NAME=VALUE."
                : $"{section.Path} is a list: a value without an index is ignored; set {section.Path}:0=VALUE, {section.Path}:1=... instead.");
        }

        if (!hasChildren)
        {
            return;
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            // Any name is a key of a dictionary; only its values have a shape.
            foreach (var item in section.GetChildren())
            {
                CheckValue(item, valueType, errors);
            }

            return;
        }

        if (ElementType(type) is { } element)
        {
            foreach (var item in section.GetChildren())
            {
                if (!int.TryParse(item.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    errors.Add($"{item.Path} is not a list index: {section.Path} is a list, numbered {section.Path}:0, {section.Path}:1, ...");
                    continue;
                }

                CheckValue(item, element, errors);
            }

            return;
        }

        CheckObject(section, type, errors);
    }

    /// <summary>What the binder converts from one string: the same test it makes.</summary>
    private static bool IsScalar(Type type) =>
        type == typeof(string) || type.IsPrimitive || type.IsEnum || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericArguments() is [_, var value]
            && type.GetInterfaces().Append(type).Any(static i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>))
            ? value
            : null;

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        return type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[0] : null;
    }

    /// <summary>The properties the binder writes: public, with a public setter (computed <c>Effective*</c> ones are not settings).</summary>
    private static Dictionary<string, PropertyInfo> BindableProperties(Type type)
    {
        var properties = new Dictionary<string, PropertyInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is { IsPublic: true } && property.GetIndexParameters().Length == 0)
            {
                var name = property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? property.Name;
                properties[name] = property;
            }
        }

        return properties;
    }

    /// <summary>The valid name nearest to <paramref name="key"/>, when it is near enough to be the one meant.</summary>
    internal static string? Closest(string key, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = EditDistance(key.ToUpperInvariant(), candidate.ToUpperInvariant());
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        // A third of the name may differ (IdelTimeout, Limitz, UserName); past that the guess would mislead.
        return best is not null && bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    /// <summary>Damerau-Levenshtein (optimal string alignment): a swapped pair of letters, the commonest typo, counts once.</summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
