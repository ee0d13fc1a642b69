using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Iwrs.Testing;

/// <summary>How the fake answers Messages.json.</summary>
public enum FakeTwilioMode
{
    /// <summary>201 with a new <c>SM…</c> sid; the message counts as delivered.</summary>
    Ok,

    /// <summary>500 with Twilio's error body (code 20500).</summary>
    Fail500,

    /// <summary>429 with <c>Retry-After</c> (<see cref="FakeTwilioServer.RetryAfterSeconds"/>) and code 20429.</summary>
    TooMany429,

    /// <summary>No answer until the mode changes (then the new mode answers) or the client gives up.</summary>
    Hang,

    /// <summary>400 code 21211, "not a valid phone number": a permanent refusal.</summary>
    Reject400,
}

/// <summary>A message the fake accepted (answered 201).</summary>
public sealed record FakeSms(string Sid, string To, string? From, string? MessagingServiceSid, string Body);

/// <summary>Every request the fake received, with what it answered (0 when the client gave up on a hanging request).</summary>
public sealed record FakeTwilioRequest(string Method, string Path, string? Authorization, string? ContentType, IReadOnlyDictionary<string, string> Form, int Status);

/// <summary>
/// Twilio's Messages API on loopback for tests: a real HTTP server (Kestrel on 127.0.0.1, a free port) serving
/// <c>POST /2010-04-01/Accounts/{AccountSid}/Messages.json</c> the way Twilio does: Basic auth AccountSid:AuthToken
/// (else 401, code 20003), a form body with To, Body and exactly one of From and MessagingServiceSid (else 400 with
/// Twilio's code for the missing field), an unknown account 404 (20404). Answers by <see cref="Mode"/>; records what
/// it accepted (<see cref="Delivered"/>) and everything it was asked (<see cref="Requests"/>). Deterministic: nothing
/// here waits on a clock except <see cref="WaitForAsync"/>, which polls with a bound.
/// </summary>
public sealed class FakeTwilioServer : IAsyncDisposable
{
    /// <summary>Test credentials in Twilio's formats (AC + 32 hex digits); not real.</summary>
    public const string AccountSid = "AC0123456789abcdef0123456789abcdef";
    public const string AuthToken = "fake-auth-token-0123456789abcdef";
    public const string FromNumber = "+15005550006";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeSms> _delivered = new();
    private readonly ConcurrentQueue<FakeTwilioRequest> _requests = new();
    private readonly Lock _gate = new();
    private FakeTwilioMode _mode = FakeTwilioMode.Ok;
    private TaskCompletionSource _modeChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _sids;
    private int _hanging;

    private FakeTwilioServer(WebApplication app, string accountSid, string authToken)
    {
        _app = app;
        ExpectedAccountSid = accountSid;
        ExpectedAuthToken = authToken;
    }

    public string ExpectedAccountSid { get; }

    public string ExpectedAuthToken { get; }

    /// <summary>http://127.0.0.1:{port}, to be used as Twilio:BaseUrl.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Seconds sent in Retry-After with a 429. Default 120.</summary>
    public int RetryAfterSeconds { get; set; } = 120;

    public FakeTwilioMode Mode
    {
        get
        {
            lock (_gate)
            {
                return _mode;
            }
        }

        set
        {
            TaskCompletionSource released;
            lock (_gate)
            {
                _mode = value;
                released = _modeChanged;
                _modeChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            released.TrySetResult();
        }
    }

    public IReadOnlyList<FakeSms> Delivered => _delivered.ToArray();

    public IReadOnlyList<FakeTwilioRequest> Requests => _requests.ToArray();

    /// <summary>Requests held open right now in <see cref="FakeTwilioMode.Hang"/>.</summary>
    public int Hanging => Volatile.Read(ref _hanging);

    /// <summary>Settings for the app under test (Twilio section) pointing at this server.</summary>
    public Dictionary<string, string?> AppSettings() => new()
    {
        ["Twilio:BaseUrl"] = BaseUrl.ToString().TrimEnd('/'),
        ["Twilio:AccountSid"] = ExpectedAccountSid,
        ["Twilio:AuthToken"] = ExpectedAuthToken,
        ["Twilio:From"] = FromNumber,
    };

    public static async Task<FakeTwilioServer> StartAsync(string accountSid = AccountSid, string authToken = AuthToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new FakeTwilioServer(app, accountSid, authToken);
        app.MapPost("/2010-04-01/Accounts/{sid}/Messages.json", (HttpContext context, string sid) => server.HandleAsync(context, sid));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseUrl = new Uri(address);
        return server;
    }

    /// <summary>Polls <paramref name="condition"/> every 10 ms for up to 10 s; fails the test if it never holds.</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Xunit.Assert.True(condition(), "Timed out waiting for: " + what);
    }

    private async Task HandleAsync(HttpContext context, string sid)
    {
        var request = context.Request;
        var form = request.HasFormContentType
            ? (await request.ReadFormAsync(context.RequestAborted)).ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        var authorization = request.Headers.Authorization.ToString();
        var answer = await AnswerAsync(context, sid, authorization, form);

        // Recorded before the answer goes out, so a client that has its answer finds the request recorded.
        _requests.Enqueue(new FakeTwilioRequest(
            request.Method, request.Path.Value ?? string.Empty, authorization.Length == 0 ? null : authorization, request.ContentType, form, answer.Status));
        if (answer.Status == 0)
        {
            return;
        }

        context.Response.StatusCode = answer.Status;
        if (answer.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        await context.Response.WriteAsJsonAsync(answer.Body);
    }

    private sealed record Answer(int Status, Dictionary<string, object?>? Body, string? RetryAfter = null);

    private async Task<Answer> AnswerAsync(HttpContext context, string sid, string authorization, Dictionary<string, string> form)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(ExpectedAccountSid + ":" + ExpectedAuthToken));
        if (!string.Equals(authorization, expected, StringComparison.Ordinal))
        {
            return Error(401, 20003, "Authenticate");
        }

        if (!string.Equals(sid, ExpectedAccountSid, StringComparison.Ordinal))
        {
            return Error(404, 20404, "The requested resource was not found");
        }

        if (!context.Request.HasFormContentType)
        {
            return Error(400, 21619, "A text message body or media urls must be specified.");
        }

        form.TryGetValue("To", out var to);
        form.TryGetValue("Body", out var body);
        form.TryGetValue("From", out var from);
        form.TryGetValue("MessagingServiceSid", out var service);
        if (string.IsNullOrEmpty(to))
        {
            return Error(400, 21604, "A 'To' phone number is required.");
        }

        if (string.IsNullOrEmpty(from) == string.IsNullOrEmpty(service))
        {
            return Error(400, 21603, "A 'From' phone number or a 'MessagingServiceSid' is required.");
        }

        if (string.IsNullOrEmpty(body))
        {
            return Error(400, 21602, "Message body is required.");
        }

        switch (await ModeAfterHangingAsync(context.RequestAborted))
        {
            case null:
                return new Answer(0, null);
            case FakeTwilioMode.Fail500:
                return Error(500, 20500, "Internal Server Error");
            case FakeTwilioMode.TooMany429:
                return Error(429, 20429, "Too Many Requests") with { RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture) };
            case FakeTwilioMode.Reject400:
                return Error(400, 21211, $"The 'To' number {to} is not a valid phone number.");
        }

        var messageSid = "SM" + Interlocked.Increment(ref _sids).ToString("x32", CultureInfo.InvariantCulture);
        _delivered.Enqueue(new FakeSms(messageSid, to, from, service, body));
        return new Answer(201, new Dictionary<string, object?>
        {
            ["sid"] = messageSid,
            ["account_sid"] = sid,
            ["to"] = to,
            ["from"] = from,
            ["messaging_service_sid"] = service,
            ["body"] = body,
            ["status"] = "queued",
        });
    }

    /// <summary>The mode to answer in, after holding the request while the mode is Hang; null if the client gave up.</summary>
    private async Task<FakeTwilioMode?> ModeAfterHangingAsync(CancellationToken aborted)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_mode != FakeTwilioMode.Hang)
                {
                    return _mode;
                }

                changed = _modeChanged.Task;
            }

            Interlocked.Increment(ref _hanging);
            try
            {
                await changed.WaitAsync(aborted);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            finally
            {
                Interlocked.Decrement(ref _hanging);
            }
        }
    }

    private static Answer Error(int status, int code, string message) => new(status, new Dictionary<string, object?>
    {
        ["code"] = code,
        ["message"] = message,
        ["more_info"] = "https://www.twilio.com/docs/errors/" + code.ToString(CultureInfo.InvariantCulture),
        ["status"] = status,
    });

    public async ValueTask DisposeAsync()
    {
        // Let hanging requests go, or stopping would wait for them.
        Mode = FakeTwilioMode.Fail500;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
