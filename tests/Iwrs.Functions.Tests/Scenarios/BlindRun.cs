using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Features;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Functions.Tests.Sms;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// The secret half of a blinded study: the list's seed (which slot has which arm) and which kit number has which
/// type. Two secrets that share the public facts — the same kit numbers, the same number of each type — are what a
/// relabeling test runs the same public actions under.
/// </summary>
public sealed record BlindSecret(byte[] ListSeed, IReadOnlyList<(string Number, string Type)> Kits)
{
    public static readonly string[] Types = ["LJ-CAPS", "PBO-CAPS"];

    /// <summary><paramref name="count"/> distinct random kit numbers, in number order.</summary>
    public static IReadOnlyList<string> Numbers(int count)
    {
        var numbers = new SortedSet<string>(StringComparer.Ordinal);
        while (numbers.Count < count)
        {
            numbers.Add(TrialDriver.KitNumber());
        }

        return [.. numbers];
    }

    public static byte[] Seed(int i) => [.. Enumerable.Range(0, 32).Select(b => (byte)((b + (i * 37)) % 256))];

    /// <summary>Types spelled one letter per kit in number order: L for LJ-CAPS, P for PBO-CAPS.</summary>
    public static BlindSecret Spelled(byte[] listSeed, IReadOnlyList<string> numbers, string types)
    {
        Assert.Equal(numbers.Count, types.Length);
        return new BlindSecret(listSeed, [.. numbers.Select((n, i) => (n, types[i] == 'L' ? Types[0] : Types[1]))]);
    }

    /// <summary>Half of each type, assigned to the numbers at random (from <paramref name="seed"/>), as a depot's list would be.</summary>
    public static BlindSecret Drawn(byte[] listSeed, IReadOnlyList<string> numbers, int seed)
    {
        var random = new SeededRandom(seed);
        while (true)
        {
            var types = KitChoice.Pick([.. numbers.Select((_, i) => i < numbers.Count / 2 ? Types[0] : Types[1])], numbers.Count, random);
            var kits = numbers.Select((n, i) => new Kit(n, types[i], "LOT-1", DateOnly.MaxValue, KitStatus.AtDepot, Kit.Depot, null, null, null)).ToList();
            if (!KitImport.LooksOrderedByType(kits))
            {
                return new BlindSecret(listSeed, [.. numbers.Select((n, i) => (n, types[i]))]);
            }
        }
    }
}

/// <summary>
/// One run of the blinded seed study (LJ-MCRC) over HTTP on Azurite, with a secret, a frozen clock the test moves,
/// Twilio faked, and every observation a blinded person could make recorded in order — each response a blinded user
/// got (status and body), each SMS reply a blinded user's command got and each SMS sent to a blinded user's phone —
/// with kit numbers and confirmation codes replaced by placeholders.
/// </summary>
public sealed class BlindRun : IAsyncDisposable
{
    public const string Study = "LJ-MCRC";
    public const string Depot = "depot";
    public const string Statistician = "stat";
    public const string Manager = "manager";
    public const string Monitor = "monitor";
    public static readonly string[] Sites = ["CN01", "CN02", "CN03"];

    private readonly BlindSecret _secret;
    private readonly List<string> _moreKits = [];
    private readonly Dictionary<string, string> _blindedPhones = [];
    private readonly Dictionary<string, string> _phones = [];
    private readonly List<string> _codes = [];
    private int _smsSeen;
    private string? _commitment;

    private BlindRun(BlindSecret secret, FakeTwilioServer twilio, IwrsFactory app, FakeTimeProvider clock)
    {
        _secret = secret;
        Twilio = twilio;
        App = app;
        Clock = clock;
        Trial = new TrialDriver(app, Study);
    }

    public FakeTwilioServer Twilio { get; }

    public IwrsFactory App { get; }

    public FakeTimeProvider Clock { get; }

    public TrialDriver Trial { get; }

    /// <summary>What blinded people observed, in order.</summary>
    public List<string> Observed { get; } = [];

    /// <summary>
    /// Public labels a kit's placeholder keeps (its starter, on subject packs): what the comparison must see, since which
    /// starter a kit came from is printed on it.
    /// </summary>
    public Dictionary<string, string> KitLabels { get; } = new(StringComparer.Ordinal);

    public static string Pharmacist(string site) => $"pharm-{site}";

    public static string Coordinator(string site) => $"coord-{site}";

    /// <summary>
    /// The study loaded (its supply levels changed by <paramref name="supply"/> if given), everyone granted, the list
    /// generated from the secret's seed and the secret's kits imported at the depot.
    /// </summary>
    public static async Task<BlindRun> StartAsync(
        BlindSecret secret, (int Trigger, int Maximum)? supply = null, Action<IServiceCollection>? services = null, int slotsPerStratum = 40, JsonObject? subjectPacks = null)
    {
        var twilio = await FakeTwilioServer.StartAsync();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero));
        // Tokens outlive the scenario's months on the test's clock.
        var settings = SmsHarness.Settings(twilio);
        if (subjectPacks is not null)
        {
            settings["Api:SubjectPacksPreview"] = "true";
        }

        var app = new IwrsFactory(settings: settings, services: s =>
        {
            s.AddSingleton<TimeProvider>(clock);
            services?.Invoke(s);
        });
        var run = new BlindRun(secret, twilio, app, clock);
        var study = JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!;
        if (supply is { } levels)
        {
            study["supply"]!["triggerLevel"] = levels.Trigger;
            study["supply"]!["maximumLevel"] = levels.Maximum;
        }

        if (subjectPacks is not null)
        {
            study["supply"]!["subjectPacks"] = subjectPacks;
        }

        await run.Trial.Ok(IwrsFactory.Admin, HttpMethod.Put, $"/api/studies/{Study}", study);
        var phone = 0;
        async Task Grant(string user, string role, string? site, bool blinded)
        {
            var number = $"+1555010{phone++:D4}";
            await app.Grant(Study, user, role, site);
            run._phones[user] = number;
            if (blinded)
            {
                run.Trial.BlindedUsers.Add(user);
                run._blindedPhones[number] = user;
            }
        }

        await Grant(Depot, "depot-manager", null, blinded: false);
        await Grant(Statistician, "unblinded-statistician", null, blinded: false);
        await Grant(Manager, "study-manager", null, blinded: true);
        await Grant(Monitor, "medical-monitor", null, blinded: true);
        foreach (var site in Sites)
        {
            await Grant(Pharmacist(site), "pharmacist", site, blinded: true);
            await Grant(Coordinator(site), "site-coordinator", site, blinded: true);
        }

        // Everyone registers and verifies their own phone (notices go only there); site staff may act by SMS as well and set a PIN.
        foreach (var (user, number) in run._phones)
        {
            await SmsHarness.RegisterPhone(app, twilio, await run.Trial.Client(user), number);
        }

        foreach (var site in Sites)
        {
            await run.Trial.Ok(Pharmacist(site), HttpMethod.Put, "/api/sms/pin", new { pin = SmsHarness.Pin });
            await run.Trial.Ok(Coordinator(site), HttpMethod.Put, "/api/sms/pin", new { pin = SmsHarness.Pin });
        }

        // The verification codes are no observation of the scenario.
        run._smsSeen = twilio.Delivered.Count;
        var list = await run.Trial.Ok(Statistician, HttpMethod.Post, "randomization-list/generate", new { seed = Convert.ToBase64String(secret.ListSeed), slotsPerStratum });
        run._commitment = list.GetProperty("commitment").GetString();
        var kits = secret.Kits.Select(k => new { kitNumber = k.Number, kitType = k.Type, lot = "LOT-1", expiry = "2028-06-30" });
        await run.Trial.Ok(Depot, HttpMethod.Post, "kits/import", new { kits });
        return run;
    }

    /// <summary>A request as <paramref name="user"/>; recorded when the user is blinded.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> Do(string user, HttpMethod method, string path, object? body = null)
    {
        var (status, json) = await Trial.Send(user, method, path, body);
        if (Trial.BlindedUsers.Contains(user))
        {
            Observed.Add($"{user} {method} {Normalize(path)} -> {(int)status} {Normalize(json.ValueKind == JsonValueKind.Undefined ? string.Empty : json.GetRawText())}");
        }

        return (status, json);
    }

    public async Task<JsonElement> Ok(string user, HttpMethod method, string path, object? body = null)
    {
        var (status, json) = await Do(user, method, path, body);
        Assert.True((int)status is >= 200 and < 300, $"{user} {method} {path}: {(int)status} {json}");
        return json;
    }

    /// <summary>A signed SMS from <paramref name="user"/>'s phone; the reply, recorded when the user is blinded.</summary>
    public async Task<string> Sms(string user, string text)
    {
        var answer = await SmsHarness.Post(App, "/api/sms/inbound", SmsHarness.Form(_phones[user], text, SmsHarness.NewSid()), SmsHarness.WebhookUrl);
        Assert.True(answer.Status == HttpStatusCode.OK, $"{user} SMS {text}: {(int)answer.Status} {answer.Raw}");
        var reply = answer.Reply ?? string.Empty;
        if (System.Text.RegularExpressions.Regex.Match(reply, "reply ([A-Z2-9]{6}) within") is { Success: true } code)
        {
            _codes.Add(code.Groups[1].Value);
        }

        if (Trial.BlindedUsers.Contains(user))
        {
            Observed.Add($"sms-reply {user} {Normalize(text)} -> {Normalize(reply)}");
        }

        return reply;
    }

    /// <summary>RAND by SMS and the confirmation with the code it answered; the final reply.</summary>
    public async Task<string> SmsRandomize(string user, string rand) => await Sms(user, SmsHarness.CodeIn(await Sms(user, rand)));

    /// <summary>Runs the resupply check and the SMS dispatch as their timers would, and records the SMS blinded phones got.</summary>
    public async Task<IReadOnlyList<string>> RunTimersAsync()
    {
        var lines = await App.Services.GetRequiredService<ResupplyCheck>().RunAsync(new TimerInvocation(ResupplyCheck.FunctionName, Clock.GetUtcNow(), false), CancellationToken.None);
        await App.Services.GetRequiredService<NotificationDispatch>().RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, Clock.GetUtcNow(), false), CancellationToken.None);
        var delivered = Twilio.Delivered;
        foreach (var sms in delivered.Skip(_smsSeen).OrderBy(s => s.To, StringComparer.Ordinal).ThenBy(s => s.Body, StringComparer.Ordinal))
        {
            if (_blindedPhones.TryGetValue(sms.To, out var user))
            {
                Observed.Add($"sms {user}: {Normalize(sms.Body)}");
            }
        }

        _smsSeen = delivered.Count;
        return lines;
    }

    /// <summary>Every shipped kit's starter, as printed on it, kept by its placeholder (read as the depot manager: not an observation).</summary>
    public async Task LabelStartersAsync()
    {
        foreach (var shipment in (await Trial.Ok(Depot, HttpMethod.Get, "shipments")).EnumerateArray())
        {
            foreach (var kit in shipment.GetProperty("kits").EnumerateArray())
            {
                if (kit.TryGetProperty("starter", out var starter) && starter.ValueKind == JsonValueKind.String)
                {
                    KitLabels[kit.GetProperty("kitNumber").GetString()!] = starter.GetString()!;
                }
            }
        }
    }

    /// <summary>The depot dispatches every shipment still requested (an unblinded action, the same in every run).</summary>
    public async Task<int> DispatchAllAsync()
    {
        var requested = (await Trial.Ok(Depot, HttpMethod.Get, "shipments")).EnumerateArray().Where(s => s.GetProperty("status").GetString() == "requested").ToList();
        foreach (var shipment in requested)
        {
            await Trial.Ok(Depot, HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/dispatch");
        }

        return requested.Count;
    }

    /// <summary>The site's pharmacist receives, all ok, every dispatched shipment it lists.</summary>
    public async Task ReceiveAllAsync(string site)
    {
        var pharmacist = Pharmacist(site);
        foreach (var shipment in (await Ok(pharmacist, HttpMethod.Get, "shipments")).EnumerateArray().Where(s => s.GetProperty("status").GetString() == "dispatched"))
        {
            var kits = shipment.GetProperty("kits").EnumerateArray().Select(k => new { kitNumber = k.GetProperty("kitNumber").GetString(), condition = "ok" }).ToList();
            await Ok(pharmacist, HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/receive", new { kits });
        }
    }

    /// <summary>More kits at the depot (their numbers are placeholdered too), of <paramref name="lot"/> expiring on <paramref name="expiry"/>.</summary>
    public async Task ImportMoreAsync(IReadOnlyList<(string Number, string Type)> kits, string lot = "LOT-1", string expiry = "2028-06-30")
    {
        _moreKits.AddRange(kits.Select(k => k.Number));
        await Trial.Ok(Depot, HttpMethod.Post, "kits/import", new { kits = kits.Select(k => new { kitNumber = k.Number, kitType = k.Type, lot, expiry }) });
    }

    /// <summary>
    /// Kit numbers become one placeholder (which kit went where differs between runs by construction), and so do the
    /// list's commitment and SMS confirmation codes (random in every run).
    /// </summary>
    public string Normalize(string text)
    {
        foreach (var code in _codes)
        {
            text = text.Replace(code, "CODE", StringComparison.Ordinal);
        }

        foreach (var number in _secret.Kits.Select(k => k.Number).Concat(_moreKits))
        {
            text = text.Replace(number, KitLabels.TryGetValue(number, out var label) ? $"KIT@{label}" : "KIT", StringComparison.Ordinal);
        }

        return _commitment is null ? text : text.Replace(_commitment, "COMMITMENT", StringComparison.Ordinal);
    }

    /// <summary>The arms of the subjects so far, as the unblinded statistician sees them (to check a test's precondition).</summary>
    public async Task<IReadOnlyList<string>> ArmsAsync(IEnumerable<string> subjectIds)
    {
        var arms = new List<string>();
        foreach (var id in subjectIds)
        {
            arms.Add((await Trial.Ok(Statistician, HttpMethod.Get, $"subjects/{id}")).GetProperty("arm").GetString()!);
        }

        return arms;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Twilio.DisposeAsync();
    }
}

public static class BlindAssert
{
    /// <summary>The two runs' observations are the same, compared in order; the first difference is shown.</summary>
    public static void SameObservations(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            Assert.True(a[i] == b[i], $"Observation {i} differs{Where(a[i], b[i])}:\n  run A: {a[i]}\n  run B: {b[i]}");
        }

        Assert.True(a.Count == b.Count, $"Run A made {a.Count} observations, run B {b.Count}.");
    }

    /// <summary>Where two long observations part: the characters around the first difference.</summary>
    private static string Where(string a, string b)
    {
        var at = 0;
        while (at < a.Length && at < b.Length && a[at] == b[at])
        {
            at++;
        }

        var from = Math.Max(0, at - 120);
        return at < 200 ? string.Empty : $" at character {at} (A: …{a[from..Math.Min(a.Length, at + 80)]}… B: …{b[from..Math.Min(b.Length, at + 80)]}…)";
    }

    /// <summary>A negative control: the two runs can be told apart.</summary>
    public static void Differ(IReadOnlyList<string> a, IReadOnlyList<string> b) =>
        Assert.False(a.SequenceEqual(b), "The two runs were expected to differ (the check must be able to fail).");
}
