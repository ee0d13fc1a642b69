using System.Text;

namespace Iwrs.Storage.Tables;

/// <summary>
/// A fully read answer, detached from its HttpResponseMessage so the message can be disposed inside the attempt that
/// received it and nothing that needs disposing crosses the retry loop.
/// </summary>
internal sealed class TableResponse
{
    public TableResponse(int status, IReadOnlyDictionary<string, string> headers, byte[] body, TimeSpan? retryAfterDelta, DateTimeOffset? retryAfterDate)
    {
        Status = status;
        Headers = headers;
        Body = body;
        RetryAfterDelta = retryAfterDelta;
        RetryAfterDate = retryAfterDate;
    }

    public int Status { get; }

    /// <summary>Response and content headers, case-insensitive, multiple values joined with ", ".</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    public byte[] Body { get; }

    public TimeSpan? RetryAfterDelta { get; }

    public DateTimeOffset? RetryAfterDate { get; }

    public bool IsSuccess => Status is >= 200 and <= 299;

    public string? Header(string name) => Headers.GetValueOrDefault(name);

    public string BodyText => Encoding.UTF8.GetString(Body);

    public static TableResponse From(HttpResponseMessage response, byte[] body)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            headers[name] = string.Join(", ", values);
        }

        var retryAfter = response.Headers.RetryAfter;
        return new TableResponse((int)response.StatusCode, headers, body, retryAfter?.Delta, retryAfter?.Date);
    }
}
