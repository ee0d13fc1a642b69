using Iwrs.Domain.Notifications;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Iwrs.Functions.Tests.Notifications;

/// <summary>
/// The real app on Azurite with Twilio pointed at a <see cref="FakeTwilioServer"/>, the seed studies loaded (so their
/// partitions exist), and, when asked, a <see cref="FakeTimeProvider"/> as the app's clock.
/// </summary>
public sealed class NotificationHarness : IAsyncDisposable
{
    /// <summary>Per-try timeout the tests use, so a hanging Twilio is given up by advancing the manual clock this far.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    public const string Study = "LJ-MCRC";
    public const string OtherStudy = "AKK-MCRC";

    private NotificationHarness(FakeTwilioServer twilio, IwrsFactory app, FakeTimeProvider? time)
    {
        Twilio = twilio;
        App = app;
        Time = time;
    }

    public FakeTwilioServer Twilio { get; }

    public IwrsFactory App { get; }

    public FakeTimeProvider? Time { get; }

    public FakeTimeProvider Clock => Time ?? throw new InvalidOperationException("This harness runs on the system clock.");

    public NotificationDispatch Dispatcher => Dispatch(App);

    public static NotificationDispatch Dispatch(IwrsFactory app) =>
        app.Services.GetRequiredService<NotificationDispatch>();

    /// <param name="manualClock">The app runs on a <see cref="FakeTimeProvider"/> the test moves (never on its own).</param>
    /// <param name="settings">App settings on top of <see cref="AppSettings"/>.</param>
    /// <param name="services">Service overrides applied after the clock's, e.g. a mock at the network edge.</param>
    public static async Task<NotificationHarness> StartAsync(
        bool manualClock = true, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var twilio = await FakeTwilioServer.StartAsync();
        var time = manualClock ? new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero)) : null;
        var app = new IwrsFactory(settings: AppSettings(twilio, settings), services: s =>
        {
            if (time is not null)
            {
                s.AddSingleton<TimeProvider>(time);
            }

            services?.Invoke(s);
        });
        await app.LoadSeedStudies();
        return new NotificationHarness(twilio, app, time);
    }

    /// <summary>Twilio pointed at the fake, in-call retries without pause, and the tests' request timeout.</summary>
    public static Dictionary<string, string?> AppSettings(FakeTwilioServer twilio, Dictionary<string, string?>? extra = null)
    {
        var all = twilio.AppSettings();
        all["Twilio:RetryDelay"] = "00:00:00";
        all["Twilio:RequestTimeout"] = RequestTimeout.ToString();
        foreach (var (k, v) in extra ?? [])
        {
            all[k] = v;
        }

        return all;
    }

    public static Notification Message(int i, string prefix = "evt") =>
        Notification.ToNumber($"{prefix}-{i:D4}-r0", $"user-{i}", $"+86138001{i:D5}", $"Message {prefix} {i}:\nkit ready at site CN01.", "test.event").Value;

    public async Task<TableClient> TableAsync() => await App.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);

    public DateTimeOffset Now => App.Services.GetRequiredService<TimeProvider>().GetUtcNow();

    /// <summary>Enqueues as an event would: one transaction on the partition holding every message's two rows.</summary>
    public async Task EnqueueAsync(string partition, params Notification[] messages)
    {
        var actions = new StudyChange();
        foreach (var m in messages)
        {
            Outbox.Add(actions, partition, m, Now);
        }

        await actions.SubmitAsync(await TableAsync(), CancellationToken.None);
    }

    public async Task<IReadOnlyList<string>> RunAsync() =>
        await Dispatcher.RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, Now, false), CancellationToken.None);

    public async Task<OutboxRecord> RecordAsync(string partition, Notification n) =>
        await Outbox.GetAsync(await TableAsync(), partition, n.Id, CancellationToken.None) ?? throw new InvalidOperationException($"No outbox record {n.Id}.");

    /// <summary>Every due row of the partition, due or not (test inspection only; the dispatcher reads bounded ranges).</summary>
    public async Task<IReadOnlyList<TableEntity>> DueRowsAsync(string partition)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in (await TableAsync()).QueryPrefixAsync(partition, Outbox.DuePrefix))
        {
            rows.Add(row);
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Twilio.DisposeAsync();
    }
}
