using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Iwrs.Domain.Notifications;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Iwrs.Functions.Notifications;

/// <summary>Sends one SMS and says what became of it. Expected failures are outcomes, not exceptions.</summary>
public interface ISmsSender
{
    /// <summary>Stored on the outbox record as Provider: <c>twilio</c>, or <c>log</c> for the development sender.</summary>
    string Provider { get; }

    Task<DeliveryOutcome> SendAsync(Notification notification, CancellationToken ct);
}

/// <summary>
/// Development only, when Twilio is not configured: writes each SMS to the log and reports it delivered, so a local
/// run shows every message the system would send.
/// </summary>
public sealed class LoggingSmsSender(ILogger<LoggingSmsSender> log) : ISmsSender
{
    public string Provider => "log";

    public Task<DeliveryOutcome> SendAsync(Notification notification, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(notification);
        log.LogInformation(
            "SMS (Twilio not configured, not sent) {NotificationId} to {To} for {RecipientUserId} on {Event}: {Body}",
            notification.Id, notification.To, notification.RecipientUserId, notification.Event, notification.Body);
        return Task.FromResult<DeliveryOutcome>(new DeliveryOutcome.Sent("log-" + notification.Id));
    }
}

/// <summary>
/// Twilio's Programmable Messaging API (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
/// <c>POST {BaseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json</c>, form fields To, From or MessagingServiceSid,
/// Body, Basic auth AccountSid:AuthToken. Outcomes:
/// <list type="bullet">
/// <item>2xx → Sent, with the message's <c>sid</c>.</item>
/// <item>429 (with its Retry-After), 408, 5xx, no connection, no answer in time → TryLater.</item>
/// <item>401 → TryLater as well: bad credentials are the deployment's fault, not the message's, and the messages
/// must go out once the setting is fixed.</item>
/// <item>Any other 4xx → Rejected with Twilio's error code and message: permanent, never retried.</item>
/// </list>
/// One Polly pipeline: retry (at most <see cref="TwilioOptions.MaxRetries"/>) ⟶ per-try timeout ⟶ one request. Only
/// failures after which Twilio cannot have created the message are retried in the call: no connection, and 5xx. A
/// timeout is not: Twilio may have taken the message and lost only its answer, and Messages.json has no idempotency key,
/// so the outbox tries again later (see Outbox for that duplicate window). The auth token is never logged: it goes
/// only into the Authorization header, and the named HttpClient redacts every header it logs.
/// </summary>
public sealed class TwilioSmsSender : ISmsSender
{
    public const string HttpClientName = "twilio";

    private static readonly MediaTypeWithQualityHeaderValue Json = new("application/json");

    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly ILogger<TwilioSmsSender> _log;
    private readonly TwilioOptions _options;
    private readonly Uri _messagesUri;
    private readonly AuthenticationHeaderValue _authorization;
    private readonly ResiliencePipeline<TwilioAnswer> _pipeline;

    public TwilioSmsSender(IHttpClientFactory http, TwilioOptions options, TimeProvider time, ILogger<TwilioSmsSender> log)
    {
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _time = time;
        _log = log;
        _options = options;
        _messagesUri = MessagesUri(options.BaseUrl, options.AccountSid!);
        _authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(options.AccountSid + ":" + options.AuthToken)));
        _pipeline = BuildPipeline(options, time);
    }

    public string Provider => "twilio";

    public static Uri MessagesUri(string baseUrl, string accountSid) =>
        new(baseUrl.TrimEnd('/') + "/2010-04-01/Accounts/" + Uri.EscapeDataString(accountSid) + "/Messages.json");

    public async Task<DeliveryOutcome> SendAsync(Notification notification, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(notification);
        TwilioAnswer answer;
        try
        {
            answer = await _pipeline.ExecuteAsync(
                static (state, token) => state.Sender.SendOnceAsync(state.Notification, token),
                (Sender: this, Notification: notification),
                ct);
        }
        catch (TimeoutRejectedException)
        {
            return Later(notification, string.Create(CultureInfo.InvariantCulture, $"Twilio did not answer within {_options.RequestTimeout}."));
        }
        catch (HttpRequestException e)
        {
            return Later(notification, $"Could not reach Twilio ({e.HttpRequestError}).");
        }
        catch (IOException)
        {
            return Later(notification, "The connection to Twilio broke before its answer.");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Later(notification, "The request to Twilio was cancelled before its answer.");
        }

        return Classify(notification, answer);
    }

    private async ValueTask<TwilioAnswer> SendOnceAsync(Notification notification, CancellationToken ct)
    {
        var fields = new List<KeyValuePair<string, string>>(3) { new("To", notification.To) };
        fields.Add(string.IsNullOrWhiteSpace(_options.MessagingServiceSid)
            ? new("From", _options.From!)
            : new("MessagingServiceSid", _options.MessagingServiceSid));
        fields.Add(new("Body", notification.Body));

        using var request = new HttpRequestMessage(HttpMethod.Post, _messagesUri) { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Authorization = _authorization;
        request.Headers.Accept.Add(Json);

        // A client per send: IHttpClientFactory rotates the handlers underneath (DNS changes), a cached client would not.
        var client = _http.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        var retryAfter = response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - _time.GetUtcNow() : null)
            : null;
        return new TwilioAnswer((int)response.StatusCode, body, retryAfter);
    }

    private DeliveryOutcome Classify(Notification notification, TwilioAnswer answer)
    {
        var status = answer.Status;
        if (status is >= 200 and <= 299)
        {
            var sid = ReadString(answer.Body, "sid");
            if (string.IsNullOrEmpty(sid))
            {
                // Accepted all the same: sending it again would send it twice.
                _log.LogWarning("Twilio accepted notification {NotificationId} ({Status}) but its answer has no sid", notification.Id, status);
                sid = "unknown";
            }

            return new DeliveryOutcome.Sent(sid);
        }

        var (code, message) = ReadError(answer.Body);
        var detail = code is null ? string.Empty : $" (Twilio error {code})";
        if (status == (int)HttpStatusCode.TooManyRequests)
        {
            var wait = answer.RetryAfter is { } after && after > TimeSpan.Zero ? after : (TimeSpan?)null;
            return Later(notification, $"Twilio is rate limiting (429){detail}.", wait);
        }

        if (status is (int)HttpStatusCode.RequestTimeout or >= 500)
        {
            return Later(notification, string.Create(CultureInfo.InvariantCulture, $"Twilio answered {status}{detail}."));
        }

        if (status == (int)HttpStatusCode.Unauthorized)
        {
            _log.LogError("Twilio refused the credentials (401{Detail}): check Twilio:AccountSid and Twilio:AuthToken", detail);
            return Later(notification, $"Twilio refused the credentials (401){detail}.");
        }

        if (status is >= 400 and <= 499)
        {
            // Twilio's message may quote the phone number: it goes to the record, not to the log.
            var rejectedCode = code ?? string.Create(CultureInfo.InvariantCulture, $"http-{status}");
            _log.LogWarning("Twilio rejected notification {NotificationId}: {Status} {Code}", notification.Id, status, rejectedCode);
            return new DeliveryOutcome.Rejected(rejectedCode, message ?? string.Create(CultureInfo.InvariantCulture, $"Twilio answered {status}."));
        }

        return Later(notification, string.Create(CultureInfo.InvariantCulture, $"Twilio answered an unexpected {status}."));
    }

    private DeliveryOutcome.TryLater Later(Notification notification, string reason, TimeSpan? retryAfter = null)
    {
        _log.LogWarning("SMS {NotificationId} not sent, will retry: {Reason}", notification.Id, reason);
        return new DeliveryOutcome.TryLater(reason, retryAfter);
    }

    private static ResiliencePipeline<TwilioAnswer> BuildPipeline(TwilioOptions options, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder<TwilioAnswer> { TimeProvider = time, Name = "Twilio" };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<TwilioAnswer>
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                ShouldHandle = static args => ValueTask.FromResult(ShouldRetry(args.Outcome)),
            });
        }

        builder.AddTimeout(options.RequestTimeout);
        return builder.Build();
    }

    /// <summary>Only where Twilio cannot have created the message: it was never reached, or it failed (5xx).</summary>
    internal static bool ShouldRetry(Outcome<TwilioAnswer> outcome) => outcome switch
    {
        { Exception: HttpRequestException e } => e.HttpRequestError is HttpRequestError.ConnectionError
            or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
        { Exception: not null } => false,
        { Result: { } answer } => answer.Status >= 500,
        _ => false,
    };

    /// <summary>Twilio's error body: <c>{"code": 21211, "message": "…", "more_info": "…", "status": 400}</c>.</summary>
    private static (string? Code, string? Message) ReadError(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            var code = doc.RootElement.TryGetProperty("code", out var c)
                ? c.ValueKind switch
                {
                    JsonValueKind.Number => c.GetRawText(),
                    JsonValueKind.String => c.GetString(),
                    _ => null,
                }
                : null;
            var message = doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return (code, message);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    private static string? ReadString(string body, string property)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                   && doc.RootElement.TryGetProperty(property, out var value)
                   && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>One answer, read whole inside the attempt so that the per-try timeout covers the body too.</summary>
    internal sealed record TwilioAnswer(int Status, string Body, TimeSpan? RetryAfter);
}
