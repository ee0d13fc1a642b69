using System.Globalization;
using System.Net;
using Iwrs.Domain.Notifications;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Twilio.Clients;
using Twilio.Exceptions;
using Twilio.Http;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Types;

namespace Iwrs.Functions.Notifications;

/// <summary>Sends one SMS and says what became of it. Expected failures are outcomes, not exceptions.</summary>
public interface ISmsSender
{
    /// <summary>Stored on the outbox record as Provider: <c>twilio</c>, or <c>log</c> for the development sender.</summary>
    string Provider { get; }

    Task<DeliveryOutcome> SendAsync(Notification notification, CancellationToken ct);
}

/// <summary>
/// Development only, when Twilio is not configured: sends nothing, logs that a message would have gone out (its id,
/// the recipient's role and the outcome) and reports it delivered, so a local run shows every SMS the system sends.
/// Never its text or number: log lines reach people of every role, and a depot's pick list names kit types. The text
/// stays where it always is, on the message's outbox record in the study's partition.
/// </summary>
public sealed class LoggingSmsSender(ILogger<LoggingSmsSender> log) : ISmsSender
{
    public string Provider => "log";

    public Task<DeliveryOutcome> SendAsync(Notification notification, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(notification);
        log.LogInformation(
            "SMS {NotificationId} for the {RecipientRole}: not sent, Twilio is not configured (Development); its text is on its outbox record only",
            notification.Id, notification.RecipientRoleName);
        return Task.FromResult<DeliveryOutcome>(new DeliveryOutcome.Sent("log-" + notification.Id));
    }
}

/// <summary>
/// Twilio's Programmable Messaging API through the Twilio SDK: <c>MessageResource.CreateAsync</c> on a
/// <c>TwilioRestClient</c> whose transport is our named HttpClient (<see cref="HttpClientName"/>, from
/// IHttpClientFactory) wrapped in the SDK's <c>SystemNetHttpClient</c>. The SDK always addresses
/// <c>https://api.twilio.com</c>; <see cref="TwilioBaseUrlHandler"/> on that HttpClient sends it to
/// <see cref="TwilioOptions.BaseUrl"/> instead (a fake on loopback in tests). Outcomes:
/// <list type="bullet">
/// <item>2xx → Sent, with the message's <c>sid</c>.</item>
/// <item>429 (with its Retry-After), 408, 5xx, no connection, no answer in time → TryLater.</item>
/// <item>401 → TryLater as well: bad credentials are the deployment's fault, not the message's, and the messages
/// must go out once the setting is fixed.</item>
/// <item>Any other 4xx (the SDK's <c>ApiException</c>) → Rejected with Twilio's error code and message: permanent,
/// never retried.</item>
/// </list>
/// One Polly pipeline: retry (at most <see cref="TwilioOptions.MaxRetries"/>) ⟶ per-try timeout ⟶ one SDK call. Only
/// failures after which Twilio cannot have created the message are retried in the call: no connection, and 5xx. A
/// timeout is not: Twilio may have taken the message and lost only its answer, and Messages.json has no idempotency key,
/// so the outbox tries again later (see Outbox for that duplicate window). The SDK's calls take no CancellationToken,
/// so a try that times out (or is cancelled) cancels the pending request on its own HttpClient. The auth token is never
/// logged: the SDK puts it only into the Authorization header, and the named HttpClient redacts every header it logs.
/// Nor are the text and the number, which travel in the form body (HttpClient logs the URL only; the SDK's own console
/// logging is switched off): our lines name the message by id and the recipient by role.
/// </summary>
public sealed class TwilioSmsSender : ISmsSender
{
    public const string HttpClientName = "twilio";

    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly ILogger<TwilioSmsSender> _log;
    private readonly TwilioOptions _options;
    private readonly ResiliencePipeline<TwilioAnswer> _pipeline;
    private readonly string? _statusCallback;

    // statusCallback is Sms:StatusCallbackUrl: when set, each message asks Twilio for delivery reports there, with the
    // message's partition and id in the query (Twilio signs that URL, query included).
    public TwilioSmsSender(IHttpClientFactory http, TwilioOptions options, TimeProvider time, ILogger<TwilioSmsSender> log, string? statusCallback = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _statusCallback = string.IsNullOrWhiteSpace(statusCallback) ? null : statusCallback;
        _http = http;
        _time = time;
        _log = log;
        _options = options;
        _pipeline = BuildPipeline(options, time);
    }

    public string Provider => "twilio";

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
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Later(notification, "The request to Twilio was cancelled before its answer.");
        }
        catch (ApiConnectionException e)
        {
            return Later(notification, e.InnerException switch
            {
                HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } or IOException => "The connection to Twilio broke before its answer.",
                HttpRequestException h => $"Could not reach Twilio ({h.HttpRequestError}).",
                _ => "Could not reach Twilio.",
            });
        }

        return Classify(notification, answer);
    }

    /// <summary>
    /// One try: a client per try (IHttpClientFactory rotates the handlers underneath, a cached client would not, and
    /// the SDK's client keeps its last request and response), the SDK's answer or its error as a value.
    /// </summary>
    private async ValueTask<TwilioAnswer> SendOnceAsync(Notification notification, CancellationToken ct)
    {
        using var http = _http.CreateClient(HttpClientName);
        var transport = new SystemNetHttpClient(http);
        var client = new TwilioRestClient(_options.AccountSid, _options.AuthToken, accountSid: _options.AccountSid, httpClient: transport)
        {
            // The SDK reads TWILIO_LOG_LEVEL and then writes requests to the console: ours are logged (redacted) by HttpClient.
            LogLevel = null,
        };
        // The dispatcher resolves a notice's number (the recipient's verified phone) before it reaches a sender.
        var to = notification.To ?? throw new ArgumentException("A notice reaches the sender with its recipient's verified phone as To.", nameof(notification));
        var message = new CreateMessageOptions(new PhoneNumber(to)) { Body = notification.Body };
        if (StatusCallbackFor(notification) is { } callback)
        {
            message.StatusCallback = callback;
        }

        if (string.IsNullOrWhiteSpace(_options.MessagingServiceSid))
        {
            message.From = new PhoneNumber(_options.From);
        }
        else
        {
            message.MessagingServiceSid = _options.MessagingServiceSid;
        }

        // The SDK takes no token: cancelling the try (its timeout, or the caller) cancels this client's pending request.
        using var cancel = ct.Register(static c => ((System.Net.Http.HttpClient)c!).CancelPendingRequests(), http);
        try
        {
            var created = await MessageResource.CreateAsync(message, client: client);
            return new TwilioAnswer(StatusOf(transport, 201), created.Sid, null, null, null);
        }
        catch (ApiConnectionException) when (ct.IsCancellationRequested)
        {
            // Lets Polly's timeout strategy tell its own timeout from the caller's cancellation.
            throw new OperationCanceledException(ct);
        }
        catch (ApiException e)
        {
            return Failure(transport, e.Status, e.Code, e.Message);
        }
        catch (ApiStandardException e)
        {
            return Failure(transport, e.Status, e.Code, e.Detail ?? e.Title);
        }
        catch (TwilioException e) when (e is not ApiConnectionException && transport.LastResponse is not null)
        {
            // Twilio answered, but the SDK could not read the answer (e.g. a 2xx whose body is not a message).
            return Failure(transport, 0, 0, e.Message);
        }
    }

    /// <summary>Where Twilio reports this message's delivery: the status callback with its partition and id, or none.</summary>
    internal Uri? StatusCallbackFor(Notification notification) =>
        _statusCallback is null || notification.Partition is null
            ? null
            : new Uri($"{_statusCallback}?partition={Uri.EscapeDataString(notification.Partition)}&id={Uri.EscapeDataString(notification.Id)}");

    private static int StatusOf(SystemNetHttpClient transport, int fallback) =>
        transport.LastResponse is { } response ? (int)response.StatusCode : fallback;

    private TwilioAnswer Failure(SystemNetHttpClient transport, int status, int code, string? message)
    {
        var retryAfter = transport.LastResponse?.Headers?.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - _time.GetUtcNow() : null)
            : null;
        return new TwilioAnswer(
            status > 0 ? status : StatusOf(transport, 0),
            null,
            code > 0 ? code.ToString(CultureInfo.InvariantCulture) : null,
            message,
            retryAfter);
    }

    private DeliveryOutcome Classify(Notification notification, TwilioAnswer answer)
    {
        var status = answer.Status;
        if (status is >= 200 and <= 299)
        {
            var sid = answer.Sid;
            if (string.IsNullOrEmpty(sid))
            {
                // Accepted all the same: sending it again would send it twice.
                _log.LogWarning("Twilio accepted notification {NotificationId} for the {RecipientRole} ({Status}) but its answer has no sid", notification.Id, notification.RecipientRoleName, status);
                sid = "unknown";
            }

            return new DeliveryOutcome.Sent(sid);
        }

        var code = answer.Code;
        var message = answer.Message;
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
            _log.LogWarning("Twilio rejected notification {NotificationId} for the {RecipientRole}: {Status} {Code}", notification.Id, notification.RecipientRoleName, status, rejectedCode);
            return new DeliveryOutcome.Rejected(rejectedCode, message ?? string.Create(CultureInfo.InvariantCulture, $"Twilio answered {status}."));
        }

        return Later(notification, string.Create(CultureInfo.InvariantCulture, $"Twilio answered an unexpected {status}."));
    }

    private DeliveryOutcome.TryLater Later(Notification notification, string reason, TimeSpan? retryAfter = null)
    {
        _log.LogWarning("SMS {NotificationId} for the {RecipientRole} not sent, will retry: {Reason}", notification.Id, notification.RecipientRoleName, reason);
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
        { Exception: ApiConnectionException { InnerException: HttpRequestException e } } => e.HttpRequestError is HttpRequestError.ConnectionError
            or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
        { Exception: not null } => false,
        { Result: { } answer } => answer.Status >= 500,
        _ => false,
    };

    /// <summary>
    /// One answer: Twilio's status, the message's sid when it was created, else Twilio's error code and message and
    /// any Retry-After.
    /// </summary>
    internal sealed record TwilioAnswer(int Status, string? Sid, string? Code, string? Message, TimeSpan? RetryAfter);
}

/// <summary>
/// On the Twilio HttpClient: the SDK builds every URL on <c>https://api.twilio.com</c>; this sends the request to
/// <see cref="TwilioOptions.BaseUrl"/> (scheme, host, port and any base path; the SDK's path and query kept), so the
/// whole SMS path can be pointed at a fake Twilio. With Twilio's own BaseUrl it changes nothing.
/// </summary>
public sealed class TwilioBaseUrlHandler(Uri baseUrl) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.RequestUri is { IsAbsoluteUri: true } original)
        {
            request.RequestUri = new UriBuilder(baseUrl)
            {
                Path = baseUrl.AbsolutePath.TrimEnd('/') + original.AbsolutePath,
                Query = original.Query.TrimStart('?'),
            }.Uri;
        }

        return base.SendAsync(request, cancellationToken);
    }
}
