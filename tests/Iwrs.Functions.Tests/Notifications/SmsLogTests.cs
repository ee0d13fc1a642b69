using Iwrs.Domain.Notifications;
using Iwrs.Functions.Notifications;
using Iwrs.Functions.Tests.Sms;
using Iwrs.Functions.Tests.Scenarios;
using Iwrs.Storage.Stores;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Iwrs.Functions.Tests.Notifications;

/// <summary>
/// No log line holds an SMS body or a full phone number, at any level and in any category, whichever sender sends:
/// a blinded study's shipment (the depot's pick list names kit types, the pharmacist's notice lists kit numbers) and an
/// emergency unblinding notice go out through the outbox and the dispatch timer, and every line the app logged is
/// scanned for their texts, for pieces of them and for the recipients' numbers.
/// </summary>
public sealed class SmsLogTests
{
    private const string Study = "LJ-MCRC";

    private static readonly Dictionary<string, string> Phones = new()
    {
        ["depot"] = "+8613800000101",
        ["pharm"] = "+8613800000102",
        ["monitor"] = "+8613800000103",
    };

    [Theory]
    [InlineData("twilio")]
    [InlineData("log")]
    public async Task Dispatch_ShipmentAndUnblindingNotices_NoLogLineHoldsABodyOrAPhoneNumber(string provider)
    {
        var logs = new CapturedLogs();
        await using var twilio = await FakeTwilioServer.StartAsync();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero));
        await using var app = new IwrsFactory(
            settings: provider == "twilio" ? NotificationHarness.AppSettings(twilio) : null,
            services: s =>
            {
                s.AddSingleton<TimeProvider>(time);
                logs.AddTo(s);
            });
        Assert.Equal(provider, app.Services.GetRequiredService<ISmsSender>().Provider);
        var kits = await RunTrialAsync(app, provider == "twilio" ? twilio : null);

        if (provider == "twilio")
        {
            // A failing round first, so Twilio's failure lines (which name the message and its recipient) are scanned too.
            twilio.Mode = FakeTwilioMode.Fail500;
            await DispatchAsync(app);
            twilio.Mode = FakeTwilioMode.Ok;
            time.Advance(TimeSpan.FromMinutes(5));
        }

        await DispatchAsync(app);

        var records = await OutboxAsync(app);
        Assert.Equal(["depot-manager", "medical-monitor", "pharmacist"], records.Select(r => r.Notification.RecipientRoleName).Order(StringComparer.Ordinal));
        Assert.All(records, r => Assert.Equal(DeliveryStatus.Sent, r.Status));
        // The notices only: each user's phone verification code was texted before the trial.
        var bodies = provider == "twilio"
            ? twilio.Delivered.Select(m => m.Body).Where(b => !b.StartsWith("Iwrs: your phone verification code", StringComparison.Ordinal)).ToList()
            : records.Select(r => r.Notification.Body).ToList();
        Assert.Equal(records.Select(r => r.Notification.Body).Order(StringComparer.Ordinal), bodies.Order(StringComparer.Ordinal));
        Assert.Contains(bodies, b => b.Contains("LJ-CAPS", StringComparison.Ordinal) && b.Contains("PBO-CAPS", StringComparison.Ordinal));
        Assert.Contains(bodies, b => b.Contains("unblinded in an emergency", StringComparison.Ordinal));
        Assert.All(kits, k => Assert.Contains(bodies, b => b.Contains(k, StringComparison.Ordinal)));

        // The capture sees everything, and each message has its line: its id, its recipient's role, its outcome.
        Assert.Contains(logs.Lines, l => l.StartsWith("Trace ", StringComparison.Ordinal) || l.StartsWith("Debug ", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains("/unblind", StringComparison.Ordinal));
        foreach (var record in records)
        {
            Assert.Contains(logs.Lines, l => l.Contains(record.Notification.Id, StringComparison.Ordinal) && l.Contains("for the " + record.Notification.RecipientRoleName, StringComparison.Ordinal));
        }

        var secrets = bodies.SelectMany(Pieces)
            .Concat(["LJ-CAPS", "PBO-CAPS"])
            .Concat(kits)
            .Concat(Phones.Values)
            .Concat(Phones.Values.Select(p => p[1..]))
            .ToList();
        foreach (var line in logs.Lines)
        {
            foreach (var secret in secrets)
            {
                Assert.False(line.Contains(secret, StringComparison.OrdinalIgnoreCase), $"a log line holds '{secret}': {line}");
            }
        }
    }

    /// <summary>The body, and each of its clauses long enough to be its own (a kit list, "shipment … is on its way …").</summary>
    private static IEnumerable<string> Pieces(string body) =>
        body.Split([": ", "; ", ". ", "\n"], StringSplitOptions.TrimEntries).Where(p => p.Length >= 16).Prepend(body);

    /// <summary>
    /// A shipment to CN01 (pick list to the depot, notice to the pharmacist), one subject randomized and then unblinded
    /// in an emergency (notice to the medical monitor). Returns the shipment's kit numbers.
    /// </summary>
    private static async Task<IReadOnlyList<string>> RunTrialAsync(IwrsFactory app, FakeTwilioServer? twilio)
    {
        await app.LoadSeedStudies();
        await app.Grant(Study, "depot", "depot-manager");
        await app.Grant(Study, "pharm", "pharmacist", "CN01");
        await app.Grant(Study, "monitor", "medical-monitor");
        await app.Grant(Study, "coord", "site-coordinator", "CN01");
        await app.Grant(Study, "inv", "unblinding-investigator", "CN01");
        await app.Grant(Study, "stat", "unblinded-statistician");
        var trial = new TrialDriver(app, Study);
        foreach (var (user, phone) in Phones)
        {
            await SmsHarness.RegisterPhone(app, twilio, await trial.Client(user), phone);
        }

        await trial.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 10);
        var kits = await trial.Stock("depot", "pharm", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 4, ["PBO-CAPS"] = 4 });
        await trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 8 });
        await trial.Ok("coord", HttpMethod.Post, "subjects/S-001/randomize", new
        {
            siteId = "CN01",
            eligibilityConfirmed = true,
            stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" },
        });
        await trial.Ok("inv", HttpMethod.Post, "subjects/S-001/unblind", new { reason = "Grade 4 hepatotoxicity, treating physician needs to know" });
        return kits;
    }

    /// <summary>The dispatch timer, run as the local host runs it on demand (so the timer function's own lines are logged too).</summary>
    private static async Task DispatchAsync(IwrsFactory app)
    {
        using var response = await app.CreateClient().PostAsync("/admin/functions/NotificationDispatch", IwrsFactory.Json("{}"));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
    }

    private static async Task<IReadOnlyList<OutboxRecord>> OutboxAsync(IwrsFactory app)
    {
        var table = await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        var records = new List<OutboxRecord>();
        await foreach (var row in table.QueryPrefixAsync(Study, Outbox.RecordPrefix))
        {
            records.Add(Outbox.FromEntity(row));
        }

        return records;
    }
}
