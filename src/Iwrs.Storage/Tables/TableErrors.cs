using System.Globalization;
using System.Text.Json;
using System.Xml;

namespace Iwrs.Storage.Tables;

/// <summary>
/// Reads the service's error code and message. The code comes from the <c>x-ms-error-code</c> header when present
/// (https://learn.microsoft.com/rest/api/storageservices/status-and-error-codes2), else from the JSON body
/// <c>{"odata.error":{"code":…,"message":{"value":…}}}</c>; some paths (authentication, service-level failures) answer
/// in XML (<c>&lt;Error&gt;&lt;Code/&gt;&lt;Message/&gt;</c>, or OData's <c>&lt;error&gt;&lt;code/&gt;&lt;message/&gt;</c>), and a
/// proxy may answer with anything: whatever cannot be read leaves code or message null rather than failing.
/// </summary>
internal static class TableErrors
{
    private const int MaxMessageLength = 1024;

    public static (string? Code, string? Message) Parse(IReadOnlyDictionary<string, string> headers, string body)
    {
        var code = headers.GetValueOrDefault("x-ms-error-code");
        var (bodyCode, message) = ParseBody(body);
        return (code ?? bodyCode, message);
    }

    public static (string? Code, string? Message) ParseBody(string body)
    {
        var trimmed = body.AsSpan().TrimStart();
        try
        {
            if (trimmed.StartsWith("{"))
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind == JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("odata.error", out var error))
                {
                    var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                    string? message = null;
                    if (error.TryGetProperty("message", out var m))
                    {
                        message = m.ValueKind switch
                        {
                            JsonValueKind.Object when m.TryGetProperty("value", out var v) => v.GetString(),
                            JsonValueKind.String => m.GetString(),
                            _ => null,
                        };
                    }

                    return (code, Truncate(message));
                }
            }
            else if (trimmed.StartsWith("<"))
            {
                return ParseXml(body);
            }
        }
        catch (JsonException)
        {
        }
        catch (XmlException)
        {
        }

        return (null, null);
    }

    public static TableStorageException ToException(TableResponse response, string operation)
    {
        var (code, message) = Parse(response.Headers, response.BodyText);
        return new TableStorageException(Describe(operation, response.Status, code, message), response.Status, code)
        {
            RequestId = response.Header("x-ms-request-id"),
        };
    }

    public static string Describe(string operation, int? status, string? code, string? message)
    {
        var text = status is null
            ? $"{operation} failed"
            : string.Create(CultureInfo.InvariantCulture, $"{operation} failed with {status}");
        if (code is not null)
        {
            text += " " + code;
        }

        if (!string.IsNullOrWhiteSpace(message))
        {
            // The service's message ends with "RequestId:…\nTime:…"; keep it on one line for logs.
            text += ": " + message.ReplaceLineEndings(" ").Trim();
        }

        return text + ".";
    }

    private static (string? Code, string? Message) ParseXml(string body)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        using var reader = XmlReader.Create(new StringReader(body), settings);
        string? code = null, message = null;
        reader.Read();
        while (!reader.EOF)
        {
            // ReadElementContentAsString leaves the reader on the next node, so only Read() when nothing was consumed.
            if (reader.NodeType == XmlNodeType.Element && reader.LocalName is ("Code" or "code") && code is null)
            {
                code = reader.ReadElementContentAsString();
            }
            else if (reader.NodeType == XmlNodeType.Element && reader.LocalName is ("Message" or "message") && message is null)
            {
                message = reader.ReadElementContentAsString();
            }
            else
            {
                reader.Read();
            }
        }

        return (code, Truncate(message));
    }

    private static string? Truncate(string? message) =>
        message is { Length: > MaxMessageLength } ? message[..MaxMessageLength] + "…" : message;
}
