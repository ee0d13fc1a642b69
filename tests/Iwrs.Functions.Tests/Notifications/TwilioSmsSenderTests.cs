using System.Collections.Concurrent;
using System.Text;
using Iwrs.Domain.Notifications;
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Iwrs.Functions.Tests.Notifications;

/// <summary>The Twilio adapter against the fake Twilio over real HTTP: the request Twilio expects, and how answers are classified.</summary>
public sealed class TwilioSmsSenderTests
{
    private static readonly Notification Sms = NotificationHarness.Message(1);

    private static TwilioSmsSender Sender(FakeTwilioServer twilio, Action<TwilioOptions>? change = null)
    {
        var options = new TwilioOptions
        {
            BaseUrl = twilio.BaseUrl.ToString(),
            AccountSid = FakeTwilioServer.AccountSid,
            AuthToken = FakeTwilioServer.AuthToken,
            From = FakeTwilioServer.FromNumber,
            RetryDelay = TimeSpan.Zero,
        };
        change?.Invoke(options);
        var http = Http(options);
        return new TwilioSmsSender(http, options, TimeProvider.System, NullLogger<TwilioSmsSender>.Instance);
    }

    /// <summary>The app's Twilio HttpClient (the one under the SDK), so every request goes to BaseUrl: the fake, never Twilio.</summary>
    private static IHttpClientFactory Http(TwilioOptions options) =>
        new ServiceCollection().AddSingleton(Options.Create(options)).AddTwilioHttpClient().BuildServiceProvider().GetRequiredService<IHttpClientFactory>();

    [Fact]
    public async Task Send_Accepted_PostsTheFormTwilioExpectsWithBasicAuth()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();

        var outcome = await Sender(twilio).SendAsync(Sms, CancellationToken.None);

        var request = Assert.Single(twilio.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"/2010-04-01/Accounts/{FakeTwilioServer.AccountSid}/Messages.json", request.Path);
        var expected = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{FakeTwilioServer.AccountSid}:{FakeTwilioServer.AuthToken}"));
        Assert.Equal("Basic " + expected, request.Authorization);
        Assert.StartsWith("application/x-www-form-urlencoded", request.ContentType, StringComparison.Ordinal);
        Assert.Equal(["Body", "From", "To"], request.Form.Keys.Order());
        Assert.Equal(Sms.To, request.Form["To"]);
        Assert.Equal(FakeTwilioServer.FromNumber, request.Form["From"]);
        Assert.Equal(Sms.Body, request.Form["Body"]);
        var sent = Assert.IsType<DeliveryOutcome.Sent>(outcome);
        Assert.Equal(Assert.Single(twilio.Delivered).Sid, sent.ProviderMessageId);
    }

    [Fact]
    public async Task Send_MessagingService_SendsMessagingServiceSidInsteadOfFrom()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        const string service = "MG0123456789abcdef0123456789abcdef";

        var outcome = await Sender(twilio, o => (o.From, o.MessagingServiceSid) = (null, service)).SendAsync(Sms, CancellationToken.None);

        Assert.IsType<DeliveryOutcome.Sent>(outcome);
        var request = Assert.Single(twilio.Requests);
        Assert.Equal(["Body", "MessagingServiceSid", "To"], request.Form.Keys.Order());
        Assert.Equal(service, Assert.Single(twilio.Delivered).MessagingServiceSid);
    }

    [Fact]
    public async Task Send_ServerError_RetriedTwiceInTheCallThenTryLater()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        twilio.Mode = FakeTwilioMode.Fail500;

        var outcome = await Sender(twilio).SendAsync(Sms, CancellationToken.None);

        var later = Assert.IsType<DeliveryOutcome.TryLater>(outcome);
        Assert.Contains("500", later.Reason, StringComparison.Ordinal);
        Assert.Contains("20500", later.Reason, StringComparison.Ordinal);
        Assert.Equal(3, twilio.Requests.Count);
    }

    [Fact]
    public async Task Send_ServerErrorThenRecovery_SentWithinTheSameCall()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        twilio.Mode = FakeTwilioMode.Fail500;
        var sender = Sender(twilio, o => o.RetryDelay = TimeSpan.FromMilliseconds(200));

        var send = sender.SendAsync(Sms, CancellationToken.None);
        await FakeTwilioServer.WaitForAsync(() => twilio.Requests.Count >= 1, "the first attempt");
        twilio.Mode = FakeTwilioMode.Ok;

        Assert.IsType<DeliveryOutcome.Sent>(await send);
        Assert.Single(twilio.Delivered);
    }

    [Fact]
    public async Task Send_RateLimited_TryLaterWithRetryAfterAndNoRetryInTheCall()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        twilio.Mode = FakeTwilioMode.TooMany429;
        twilio.RetryAfterSeconds = 300;

        var later = Assert.IsType<DeliveryOutcome.TryLater>(await Sender(twilio).SendAsync(Sms, CancellationToken.None));

        Assert.Equal(TimeSpan.FromSeconds(300), later.RetryAfter);
        Assert.Single(twilio.Requests);
    }

    [Fact]
    public async Task Send_Rejected_RejectedWithTwilioCodeAndNoRetry()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        twilio.Mode = FakeTwilioMode.Reject400;

        var rejected = Assert.IsType<DeliveryOutcome.Rejected>(await Sender(twilio).SendAsync(Sms, CancellationToken.None));

        Assert.Equal("21211", rejected.Code);
        Assert.Contains("not a valid phone number", rejected.Message, StringComparison.Ordinal);
        Assert.Single(twilio.Requests);
    }

    [Fact]
    public async Task Send_WrongAuthToken_TryLaterNotRejected()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();

        var outcome = await Sender(twilio, o => o.AuthToken = "not-the-token").SendAsync(Sms, CancellationToken.None);

        var later = Assert.IsType<DeliveryOutcome.TryLater>(outcome);
        Assert.Contains("401", later.Reason, StringComparison.Ordinal);
        Assert.Equal(401, Assert.Single(twilio.Requests).Status);
        Assert.Empty(twilio.Delivered);
    }

    [Fact]
    public async Task Send_NobodyListening_TryLater()
    {
        var port = AzuriteServer.FreePort();
        var options = new TwilioOptions
        {
            BaseUrl = $"http://127.0.0.1:{port}",
            AccountSid = FakeTwilioServer.AccountSid,
            AuthToken = FakeTwilioServer.AuthToken,
            From = FakeTwilioServer.FromNumber,
            RetryDelay = TimeSpan.Zero,
        };
        var http = Http(options);
        var sender = new TwilioSmsSender(http, options, TimeProvider.System, NullLogger<TwilioSmsSender>.Instance);

        var later = Assert.IsType<DeliveryOutcome.TryLater>(await sender.SendAsync(Sms, CancellationToken.None));

        Assert.Contains("Could not reach Twilio", later.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_Hangs_TryLaterAfterThePerTryTimeoutWithoutRetry()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        twilio.Mode = FakeTwilioMode.Hang;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero));
        var options = new TwilioOptions
        {
            BaseUrl = twilio.BaseUrl.ToString(),
            AccountSid = FakeTwilioServer.AccountSid,
            AuthToken = FakeTwilioServer.AuthToken,
            From = FakeTwilioServer.FromNumber,
            RetryDelay = TimeSpan.Zero,
        };
        var http = Http(options);
        var send = new TwilioSmsSender(http, options, time, NullLogger<TwilioSmsSender>.Instance).SendAsync(Sms, CancellationToken.None);

        await FakeTwilioServer.WaitForAsync(() => twilio.Hanging == 1, "the request to hang");
        time.Advance(options.RequestTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(send.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        var later = Assert.IsType<DeliveryOutcome.TryLater>(await send);
        Assert.Contains("did not answer", later.Reason, StringComparison.Ordinal);
        await FakeTwilioServer.WaitForAsync(() => twilio.Requests.Count == 1 && twilio.Hanging == 0, "the request to be abandoned");
        Assert.Equal(0, twilio.Requests[0].Status);
    }

    [Fact]
    public async Task App_AllLogsAtTraceLevel_NeverContainTheAuthToken()
    {
        var logs = new CapturingLoggerProvider();
        await using var twilio = await FakeTwilioServer.StartAsync();
        var settings = NotificationHarness.AppSettings(twilio, new()
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
        });
        await using var app = new IwrsFactory(settings: settings, services: s => s.AddSingleton<ILoggerProvider>(logs));
        await app.LoadSeedStudies();
        var table = await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        var actions = new StudyChange();
        Outbox.Add(actions, NotificationHarness.Study, Sms, app.Services.GetRequiredService<TimeProvider>().GetUtcNow());
        await actions.SubmitAsync(table, CancellationToken.None);
        twilio.Mode = FakeTwilioMode.Reject400;

        await NotificationHarness.Dispatch(app).RunAsync(new("NotificationDispatch", DateTimeOffset.UnixEpoch, false), CancellationToken.None);

        Assert.Single(twilio.Requests);
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{FakeTwilioServer.AccountSid}:{FakeTwilioServer.AuthToken}"));
        Assert.Contains(logs.Messages, m => m.Contains("Messages.json", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("21211", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains(FakeTwilioServer.AuthToken, StringComparison.Ordinal) || m.Contains(basic, StringComparison.Ordinal));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Messages.Enqueue(formatter(state, exception) + " " + exception);
        }
    }
}
