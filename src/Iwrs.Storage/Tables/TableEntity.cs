using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Iwrs.Storage.Tables;

/// <summary>
/// A row: its keys, the service's ETag and Timestamp, and a typed property bag. Values are held as the CLR types the
/// Table service's EDM types map to (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model#property-types):
/// string, bool, int (Edm.Int32), long (Edm.Int64), double, DateTimeOffset (Edm.DateTime, always UTC), Guid, byte[].
/// The typed getters also accept what a <c>nometadata</c> payload leaves behind (an Int64, DateTime, Guid or Binary as a
/// string, a whole double as an int), so callers need not care which payload format a row came from.
/// Getters return null when the property is absent and throw when it holds something that is not convertible,
/// because a row with the wrong type is a data bug that must not read as "missing".
/// </summary>
public sealed class TableEntity : IEnumerable<KeyValuePair<string, object>>
{
    private readonly Dictionary<string, object> _properties = new(StringComparer.Ordinal);

    public TableEntity(string partitionKey, string rowKey)
    {
        PartitionKey = partitionKey ?? throw new ArgumentNullException(nameof(partitionKey));
        RowKey = rowKey ?? throw new ArgumentNullException(nameof(rowKey));
    }

    /// <summary>Keys are checked with <see cref="TableKeys.Validate"/> when the entity is written, not here.</summary>
    public string PartitionKey { get; set; }

    public string RowKey { get; set; }

    /// <summary>The version the service last returned for this row; null for a row not read from the service.</summary>
    public string? ETag { get; set; }

    /// <summary>Set by the service on every write; never sent.</summary>
    public DateTimeOffset? Timestamp { get; set; }

    public IReadOnlyDictionary<string, object> Properties => _properties;

    public int Count => _properties.Count;

    /// <summary>Reads the raw value (null when absent) or sets it with the same rules as <see cref="Set"/>.</summary>
    public object? this[string name]
    {
        get => _properties.GetValueOrDefault(name);
        set => Set(name, value);
    }

    /// <summary>
    /// Sets a property. Accepted: string, bool, int, long, double, DateTimeOffset, DateTime (UTC or local; an
    /// unspecified Kind is ambiguous and refused), Guid, byte[]. Null removes the property. Anything else throws, so
    /// a decimal or an enum never silently becomes a string.
    /// </summary>
    public TableEntity Set(string name, object? value)
    {
        TableKeys.ValidatePropertyName(name, nameof(name));
        if (IsSystemName(name))
        {
            throw new ArgumentException(
                $"'{name}' is a system property; use the {name} member instead.", nameof(name));
        }

        if (value is null)
        {
            _properties.Remove(name);
            return this;
        }

        _properties[name] = Normalize(value, nameof(value));
        return this;
    }

    public bool Remove(string name) => _properties.Remove(name);

    public bool ContainsKey(string name) => _properties.ContainsKey(name);

    /// <summary>Used by the reader: the service's names were already valid, and an unknown name must not fail a read.</summary>
    internal void SetFromService(string name, object value) => _properties[name] = value;

    public string? GetString(string name) =>
        _properties.TryGetValue(name, out var v)
            ? v as string ?? throw Mismatch(name, v, "string")
            : null;

    public bool? GetBoolean(string name) => Get(name, "bool", (object v, out bool r) => TryBoolean(v, out r));

    public int? GetInt32(string name) => Get(name, "Int32", (object v, out int r) => TryInt32(v, out r));

    public long? GetInt64(string name) => Get(name, "Int64", (object v, out long r) => TryInt64(v, out r));

    public double? GetDouble(string name) => Get(name, "double", (object v, out double r) => TryDouble(v, out r));

    public DateTimeOffset? GetDateTimeOffset(string name) =>
        Get(name, "DateTimeOffset", (object v, out DateTimeOffset r) => TryDateTimeOffset(v, out r));

    public Guid? GetGuid(string name) => Get(name, "Guid", (object v, out Guid r) => TryGuid(v, out r));

    public byte[]? GetBinary(string name)
    {
        if (!_properties.TryGetValue(name, out var v))
        {
            return null;
        }

        return TryBinary(v, out var bytes) ? bytes : throw Mismatch(name, v, "byte[]");
    }

    public bool TryGetString(string name, [NotNullWhen(true)] out string? value)
    {
        value = _properties.GetValueOrDefault(name) as string;
        return value is not null;
    }

    public bool TryGetBoolean(string name, out bool value) => TryGet(name, out value, TryBoolean);

    public bool TryGetInt32(string name, out int value) => TryGet(name, out value, TryInt32);

    public bool TryGetInt64(string name, out long value) => TryGet(name, out value, TryInt64);

    public bool TryGetDouble(string name, out double value) => TryGet(name, out value, TryDouble);

    public bool TryGetDateTimeOffset(string name, out DateTimeOffset value) => TryGet(name, out value, TryDateTimeOffset);

    public bool TryGetGuid(string name, out Guid value) => TryGet(name, out value, TryGuid);

    public bool TryGetBinary(string name, [NotNullWhen(true)] out byte[]? value)
    {
        value = null;
        return _properties.TryGetValue(name, out var v) && TryBinary(v, out value);
    }

    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => _properties.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"TableEntity(PartitionKey={PartitionKey}, RowKey={RowKey}, {Count} properties)");

    internal static bool IsSystemName(string name) =>
        name is "PartitionKey" or "RowKey" or "Timestamp";

    private static object Normalize(object value, string paramName) => value switch
    {
        string or bool or int or long or double or Guid => value,
        DateTimeOffset dto => dto.ToUniversalTime(),
        DateTime { Kind: DateTimeKind.Utc } dt => new DateTimeOffset(dt),
        DateTime { Kind: DateTimeKind.Local } dt => new DateTimeOffset(dt.ToUniversalTime()),
        DateTime => throw new ArgumentException(
            "A DateTime with Kind=Unspecified is ambiguous; pass a DateTimeOffset or a UTC DateTime.", paramName),
        byte[] bytes => bytes.ToArray(),
        _ => throw new ArgumentException(
            $"Type {value.GetType().Name} cannot be stored; use string, bool, int, long, double, DateTimeOffset, Guid or byte[].",
            paramName),
    };

    private delegate bool Converter<T>(object value, out T result);

    private T? Get<T>(string name, string typeName, Converter<T> convert)
        where T : struct
    {
        if (!_properties.TryGetValue(name, out var v))
        {
            return null;
        }

        return convert(v, out var result) ? result : throw Mismatch(name, v, typeName);
    }

    private bool TryGet<T>(string name, out T value, Converter<T> convert)
    {
        value = default!;
        return _properties.TryGetValue(name, out var v) && convert(v, out value);
    }

    private static InvalidCastException Mismatch(string name, object value, string wanted) =>
        new($"Property '{name}' holds a {value.GetType().Name}, which does not convert to {wanted}.");

    private static bool TryBoolean(object v, out bool r)
    {
        switch (v)
        {
            case bool b:
                r = b;
                return true;
            case string s:
                return bool.TryParse(s, out r);
            default:
                r = default;
                return false;
        }
    }

    private static bool TryInt32(object v, out int r)
    {
        switch (v)
        {
            case int i:
                r = i;
                return true;
            case long l when l is >= int.MinValue and <= int.MaxValue:
                r = (int)l;
                return true;
            case string s:
                return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out r);
            default:
                r = default;
                return false;
        }
    }

    private static bool TryInt64(object v, out long r)
    {
        switch (v)
        {
            case long l:
                r = l;
                return true;
            case int i:
                r = i;
                return true;
            case string s:
                // nometadata returns Edm.Int64 as a JSON string, because a JSON number loses precision above 2^53.
                return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out r);
            default:
                r = default;
                return false;
        }
    }

    private static bool TryDouble(object v, out double r)
    {
        switch (v)
        {
            case double d:
                r = d;
                return true;
            case int i:
                // A whole double comes back as a JSON integer when the payload carries no type annotation.
                r = i;
                return true;
            case long l:
                r = l;
                return true;
            case string s:
                // "NaN", "Infinity" and "-Infinity" are how the service writes the non-finite values.
                return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out r);
            default:
                r = default;
                return false;
        }
    }

    private static bool TryDateTimeOffset(object v, out DateTimeOffset r)
    {
        switch (v)
        {
            case DateTimeOffset d:
                r = d;
                return true;
            case string s:
                return DateTimeOffset.TryParse(
                    s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out r);
            default:
                r = default;
                return false;
        }
    }

    private static bool TryGuid(object v, out Guid r)
    {
        switch (v)
        {
            case Guid g:
                r = g;
                return true;
            case string s:
                return Guid.TryParse(s, out r);
            default:
                r = default;
                return false;
        }
    }

    private static bool TryBinary(object v, [NotNullWhen(true)] out byte[]? r)
    {
        switch (v)
        {
            case byte[] b:
                r = b;
                return true;
            case string s:
                var buffer = new byte[(s.Length * 3 / 4) + 3];
                if (Convert.TryFromBase64String(s, buffer, out var written))
                {
                    r = buffer[..written];
                    return true;
                }

                r = null;
                return false;
            default:
                r = null;
                return false;
        }
    }
}
