using System.Net;
using System.Text;

namespace Iwrs.Storage.Tests.Tables;

/// <summary>
/// The transport the unit tests swap in: answers from a queue and records what was sent (the message itself is
/// disposed by the client after each attempt, so its parts are copied out).
/// </summary>
internal sealed class StubHttpHandler : HttpMessageHandler
{
    private readonly Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>> _answers = new();
    private readonly Lock _gate = new();

    public List<RecordedRequest> Requests { get; } = [];

    public StubHttpHandler Respond(HttpStatusCode status, string? body = null, Action<HttpResponseMessage>? configure = null)
    {
        _answers.Enqueue((_, _) =>
        {
            var response = new HttpResponseMessage(status) { Content = new StringContent(body ?? string.Empty, Encoding.UTF8) };
            if (body is null)
            {
                response.Content.Headers.ContentType = null;
            }

            configure?.Invoke(response);
            return Task.FromResult(response);
        });
        return this;
    }

    public StubHttpHandler RespondJson(HttpStatusCode status, string json, Action<HttpResponseMessage>? configure = null) =>
        Respond(status, json, r =>
        {
            r.Content.Headers.Remove("Content-Type");
            r.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json;odata=minimalmetadata;charset=utf-8");
            configure?.Invoke(r);
        });

    public StubHttpHandler RespondError(HttpStatusCode status, string code, string message = "The service says no.") =>
        RespondJson(status, ODataError(code, message),
            r => r.Headers.TryAddWithoutValidation("x-ms-error-code", code));

    public static string ODataError(string code, string message) =>
        "{\"odata.error\":{\"code\":\"" + code + "\",\"message\":{\"lang\":\"en-US\",\"value\":\"" + message + "\"}}}";

    public StubHttpHandler Throw(Exception exception)
    {
        _answers.Enqueue((_, _) => Task.FromException<HttpResponseMessage>(exception));
        return this;
    }

    public StubHttpHandler Answer(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer)
    {
        _answers.Enqueue(answer);
        return this;
    }

    /// <summary>A server that never answers: only the attempt's cancellation token ends the wait.</summary>
    public StubHttpHandler Hang(Action? onRequest = null) => Answer(async (_, token) =>
    {
        onRequest?.Invoke();
        await Task.Delay(Timeout.Infinite, token);
        throw new InvalidOperationException("unreachable");
    });

    public RecordedRequest Single() => Assert.Single(Requests);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        // NonValidated: the values as they go on the wire, not re-formatted by the typed header parsers.
        foreach (var (name, values) in request.Headers.NonValidated)
        {
            headers[name] = string.Join(", ", values);
        }

        if (request.Content is not null)
        {
            foreach (var (name, values) in request.Content.Headers.NonValidated)
            {
                headers[name] = string.Join(", ", values);
            }
        }

        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer;
        lock (_gate)
        {
            Requests.Add(new RecordedRequest(request.Method.Method, request.RequestUri!, headers, body));
            if (!_answers.TryDequeue(out answer!))
            {
                throw new InvalidOperationException($"Unexpected request #{Requests.Count}: {request.Method} {request.RequestUri}");
            }
        }

        var response = await answer(request, cancellationToken);
        response.RequestMessage = request;
        return response;
    }
}

internal sealed record RecordedRequest(string Method, Uri Uri, IReadOnlyDictionary<string, string> Headers, byte[]? Body)
{
    public string BodyText => Body is null ? string.Empty : Encoding.UTF8.GetString(Body);

    /// <summary>The URL exactly as it goes on the wire (percent-encoding kept).</summary>
    public string Url => Uri.AbsoluteUri;

    public string? Header(string name) => Headers.GetValueOrDefault(name);
}
