using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Iwrs.Storage.Tables;

/// <summary>
/// Entity bodies in the JSON payload format (https://learn.microsoft.com/rest/api/storageservices/payload-format-for-table-service-operations).
/// Writing: JSON itself only tells string, bool, Int32 and Double apart, so Int64, DateTime, Guid and Binary carry a
/// <c>"Name@odata.type"</c> annotation; doubles are annotated too, so a whole double (2.0) is not stored as Int32.
/// Reading: annotations (minimalmetadata) decide the type when present; without them (nometadata) the value is kept
/// as JSON gave it and <see cref="TableEntity"/>'s getters convert.
/// </summary>
internal static class EntityJson
{
    private const string TypeSuffix = "@odata.type";

    /// <summary>One line of UTF-8 JSON: the emulator's batch parser needs each body on a single line.</summary>
    public static byte[] Serialize(TableEntity entity)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            writer.WriteString("PartitionKey", entity.PartitionKey);
            writer.WriteString("RowKey", entity.RowKey);
            foreach (var (name, value) in entity.Properties)
            {
                WriteProperty(writer, name, value);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteProperty(Utf8JsonWriter writer, string name, object value)
    {
        switch (value)
        {
            case string s:
                writer.WriteString(name, s);
                break;
            case bool b:
                writer.WriteBoolean(name, b);
                break;
            case int i:
                writer.WriteNumber(name, i);
                break;
            case long l:
                writer.WriteString(name + TypeSuffix, "Edm.Int64");
                writer.WriteString(name, l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                writer.WriteString(name + TypeSuffix, "Edm.Double");
                if (double.IsFinite(d))
                {
                    writer.WriteNumber(name, d);
                }
                else
                {
                    // JSON has no literal for these; the service spells them as strings.
                    writer.WriteString(name, double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                }

                break;
            case DateTimeOffset dto:
                writer.WriteString(name + TypeSuffix, "Edm.DateTime");
                writer.WriteString(name, dto.UtcDateTime.ToString("o", CultureInfo.InvariantCulture));
                break;
            case Guid g:
                writer.WriteString(name + TypeSuffix, "Edm.Guid");
                writer.WriteString(name, g.ToString("D"));
                break;
            case byte[] bytes:
                writer.WriteString(name + TypeSuffix, "Edm.Binary");
                writer.WriteString(name, Convert.ToBase64String(bytes));
                break;
            default:
                // TableEntity.Set refuses anything else, so this is a bug in this file.
                throw new InvalidOperationException($"Unsupported property type {value.GetType().Name}.");
        }
    }

    /// <summary>Reads one entity object; <paramref name="etag"/> (the ETag header of a point read) wins over odata.etag.</summary>
    public static TableEntity Parse(JsonElement element, string? etag)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new TableStorageException("The service returned an entity that is not a JSON object.");
        }

        Dictionary<string, string>? types = null;
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name.EndsWith(TypeSuffix, StringComparison.Ordinal) && property.Value.ValueKind == JsonValueKind.String)
            {
                types ??= new Dictionary<string, string>(StringComparer.Ordinal);
                types[property.Name[..^TypeSuffix.Length]] = property.Value.GetString()!;
            }
        }

        string partitionKey = string.Empty, rowKey = string.Empty;
        string? bodyETag = null;
        DateTimeOffset? timestamp = null;
        var values = new List<KeyValuePair<string, object>>();
        foreach (var property in element.EnumerateObject())
        {
            var name = property.Name;
            if (name == "odata.etag")
            {
                bodyETag = property.Value.GetString();
                continue;
            }

            if (name.StartsWith("odata.", StringComparison.Ordinal) || name.Contains('@', StringComparison.Ordinal))
            {
                continue;
            }

            switch (name)
            {
                case "PartitionKey":
                    partitionKey = property.Value.GetString() ?? string.Empty;
                    continue;
                case "RowKey":
                    rowKey = property.Value.GetString() ?? string.Empty;
                    continue;
                case "Timestamp":
                    timestamp = ReadValue(property.Value, "Edm.DateTime") as DateTimeOffset?;
                    continue;
            }

            var value = ReadValue(property.Value, types?.GetValueOrDefault(name));
            if (value is not null)
            {
                values.Add(new(name, value));
            }
        }

        var entity = new TableEntity(partitionKey, rowKey) { ETag = etag ?? bodyETag, Timestamp = timestamp };
        foreach (var (name, value) in values)
        {
            entity.SetFromService(name, value);
        }

        return entity;
    }

    private static object? ReadValue(JsonElement value, string? edmType)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        try
        {
            switch (edmType)
            {
                case "Edm.Int64" when value.ValueKind == JsonValueKind.String:
                    return long.Parse(value.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                case "Edm.Int64" when value.ValueKind == JsonValueKind.Number:
                    return value.GetInt64();
                case "Edm.Int32" when value.ValueKind == JsonValueKind.Number:
                    return value.GetInt32();
                case "Edm.Double" when value.ValueKind == JsonValueKind.Number:
                    return value.GetDouble();
                case "Edm.Double" when value.ValueKind == JsonValueKind.String:
                    return double.Parse(value.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);
                case "Edm.DateTime" when value.ValueKind == JsonValueKind.String:
                    return DateTimeOffset.Parse(
                        value.GetString()!, CultureInfo.InvariantCulture,
                        DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
                case "Edm.Guid" when value.ValueKind == JsonValueKind.String:
                    return Guid.Parse(value.GetString()!);
                case "Edm.Binary" when value.ValueKind == JsonValueKind.String:
                    return Convert.FromBase64String(value.GetString()!);
            }
        }
        catch (FormatException ex)
        {
            throw new TableStorageException($"The service returned a value that is not a valid {edmType}.", ex);
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when value.TryGetInt32(out var i) => i,
            JsonValueKind.Number when value.TryGetInt64(out var l) => l,
            JsonValueKind.Number => value.GetDouble(),
            _ => value.GetRawText(),
        };
    }
}
