using System.Text.Json;
using Iwrs.Domain;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Hosting;

/// <summary>
/// Reads a JSON request body ourselves rather than through minimal-API binding, so that every way a body
/// can be wrong (not JSON, wrong type, unknown member, too large, wrong media type) is a 4xx problem with a
/// code and a pointer to where it went wrong, never a bare 400 or a 500.
/// </summary>
public sealed class RequestBody(IOptions<ApiOptions> options)
{
    public static readonly JsonSerializerOptions SerializerOptions = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
            UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
            AllowTrailingCommas = false,
            ReadCommentHandling = JsonCommentHandling.Disallow,

            // {"siteId":"CN02","siteId":"CN01"}: a proxy or log that reads the first key would see another request than
            // the one acted on (the last key wins by default). Refused as invalid-json naming the property.
            AllowDuplicateProperties = false,
        };
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    public async Task<Result<T>> ReadAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        var read = await ReadLimitedAsync(request, options.Value.MaxRequestBodyBytes, "application/json", "Send the body as application/json.", ct);
        if (!read.IsSuccess)
        {
            return read.Error!;
        }

        using var buffer = read.Value;
        if (buffer.Length == 0)
        {
            return new DomainError("missing-body", "A JSON body is required.");
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), SerializerOptions);
            return value is null
                ? new DomainError("missing-body", "The JSON body is null; an object is required.")
                : value;
        }
        catch (JsonException e)
        {
            // Path and position are enough to find the mistake; the serializer's message can quote type names.
            var where = e.Path is { Length: > 0 } path ? $" at {path}" : string.Empty;
            var line = e.LineNumber is { } l ? $" (line {l + 1}, position {e.BytePositionInLine + 1})" : string.Empty;
            if (DuplicateProperty(e) is { } name)
            {
                return DomainError.Validation(
                    [new FieldError(e.Path ?? "$", $"names the property '{name}' more than once; name each property once.")],
                    $"The body names the property '{name}' more than once{where}{line}.") with { Code = "invalid-json" };
            }

            return DomainError.Validation(
                [new FieldError(e.Path ?? "$", Describe(e))],
                $"The body is not valid JSON for this request{where}{line}.") with { Code = "invalid-json" };
        }
    }

    /// <summary>
    /// A body of <paramref name="mediaType"/> read whole, at most <paramref name="limit"/> bytes: 413
    /// <c>request-too-large</c> beyond (announced or chunked), 415 <c>unsupported-media-type</c> for another type.
    /// </summary>
    public static async Task<Result<MemoryStream>> ReadLimitedAsync(HttpRequest request, long limit, string mediaType, string wrongType, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        if (request.ContentType is not { } type || !type.StartsWith(mediaType, StringComparison.OrdinalIgnoreCase))
        {
            return new DomainError("unsupported-media-type", wrongType);
        }

        // Chunked bodies have no Content-Length: read at most limit + 1 bytes to know it was exceeded.
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                await buffer.DisposeAsync();
                return TooLarge(limit);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer;
    }

    /// <summary>The repeated property's name from the serializer's "Duplicate property 'x' encountered …", or null.</summary>
    private static string? DuplicateProperty(JsonException e)
    {
        const string marker = "Duplicate property '";
        var start = e.Message.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += marker.Length;
        var end = e.Message.IndexOf('\'', start);
        return end > start ? e.Message[start..end] : null;
    }

    private static string Describe(JsonException e) =>
        e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "is not a known member." :
        e.Message.Contains("could not be converted", StringComparison.Ordinal) ? "has the wrong type." :
        "is not well-formed JSON.";

    private static DomainError TooLarge(long limit) =>
        new("request-too-large", $"The body is larger than {limit} bytes.");
}
