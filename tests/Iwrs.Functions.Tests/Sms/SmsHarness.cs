using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Functions.Tests.Notifications;
using Iwrs.Functions.Tests.Scenarios;
using Iwrs.Storage.Stores;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Iwrs.Functions.Tests.Sms;

/// <summary>What Twilio would post: the form, signed as Twilio signs (HMAC-SHA1 over the URL and the sorted parameters).</summary>
public static class TwilioSignature
{
    public static string Sign(string authToken, string url, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var data = new StringBuilder(url);
        foreach (var (key, value) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            data.Append(key).Append(value);
        }

        // Twilio's Auth Token signature is HMAC-SHA1 by its definition; the test signs as Twilio does.
#pragma warning disable CA5350
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(data.ToString())));
#pragma warning restore CA5350
    }
}

/// <summary>One reply to a posted webhook: the status, the TwiML's message (null: none) and the raw answer.</summary>
public sealed record SmsAnswer(HttpStatusCode Status, string? Reply, string Raw, string? ContentType)
{
    public JsonElement Problem => JsonDocument.Parse(Raw).RootElement;
}

/// <summary>
/// The app on Azurite with Twilio faked and a manual clock, both seed studies loaded, people with phones and PINs, kits
/// at the sites, and a way to post signed Twilio webhooks from any phone. The public webhook URL differs from the test
/// server's on purpose: Twilio signs the URL it was configured with.
/// </summary>
public sealed class SmsHarness : IAsyncDisposable
{
    public const string WebhookUrl = "https://iwrs.example.org/api/sms/inbound";
    public const string StatusUrl = "https://iwrs.example.org/api/sms/status";
    public const string Lj = "LJ-MCRC";
    public const string Akk = "AKK-MCRC";
    public const string Pin = "2468";

    private static int _sids;

    private readonly FakeTimeProvider? _clock;

    private SmsHarness(FakeTwilioServer twilio, IwrsFactory app, FakeTimeProvider? clock)
    {
        Twilio = twilio;
        App = app;
        _clock = clock;
        Lj_ = new TrialDriver(app, Lj);
        Akk_ = new TrialDriver(app, Akk);
    }

    public FakeTwilioServer Twilio { get; }

    public IwrsFactory App { get; }

    /// <summary>The app's manual clock (not with <c>manualClock: false</c>, where lost write races back off on the real one).</summary>
    public FakeTimeProvider Clock => _clock ?? throw new InvalidOperationException("This harness runs on the system clock.");

#pragma warning disable CA1707 // The two trials, named after their studies.
    public TrialDriver Lj_ { get; }

    public TrialDriver Akk_ { get; }
#pragma warning restore CA1707

    public static Dictionary<string, string?> Settings(FakeTwilioServer twilio, Dictionary<string, string?>? extra = null)
    {
        var settings = NotificationHarness.AppSettings(twilio, new()
        {
            ["Sms:WebhookUrl"] = WebhookUrl,
            ["Sms:StatusCallbackUrl"] = StatusUrl,
            ["Auth:Development:TokenLifetime"] = "365.00:00:00",
        });
        foreach (var (k, v) in extra ?? [])
        {
            settings[k] = v;
        }

        return settings;
    }

    /// <summary>
    /// The app, with both studies; <paramref name="people"/> grants (study, user, role, site, phone), and each person
    /// with a phone registers and verifies it and sets a PIN.
    /// </summary>
    public static async Task<SmsHarness> StartAsync(IEnumerable<(string Study, string User, string Role, string? Site, string? Phone)> people, bool manualClock = true, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var twilio = await FakeTwilioServer.StartAsync();
        var clock = manualClock ? new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero)) : null;
        var app = new IwrsFactory(settings: Settings(twilio, settings), services: s =>
        {
            if (clock is not null)
            {
                s.AddSingleton<TimeProvider>(clock);
            }

            services?.Invoke(s);
        });
        var h = new SmsHarness(twilio, app, clock);
        await app.LoadSeedStudies();
        foreach (var (study, user, role, site, _) in people)
        {
            await app.Grant(study, user, role, site);
        }

        // Each user with a phone registers it themselves and types back the code texted to it, then sets a PIN.
        foreach (var (user, phone) in people.Where(p => p.Phone is not null).Select(p => (p.User, p.Phone!)).Distinct())
        {
            await RegisterPhone(app, twilio, await h.Lj_.Client(user), phone);
            await h.SetPin(user, Pin);
        }

        return h;
    }

    /// <summary>
    /// What a user does to make <paramref name="phone"/> their SMS phone, through the real API and the real outbound
    /// path: registers it, the dispatcher texts the code (to the fake Twilio; with no Twilio, the development sender
    /// leaves it on its outbox record), and the user types the code back.
    /// </summary>
    public static async Task RegisterPhone(IwrsFactory app, FakeTwilioServer? twilio, HttpClient user, string phone)
    {
        using (var registered = await user.PutAsJsonAsync("/api/sms/phone", new { phone }))
        {
            Assert.True(registered.StatusCode == HttpStatusCode.Accepted, $"register {phone}: {(int)registered.StatusCode} {await registered.Content.ReadAsStringAsync()}");
        }

        using (var verified = await user.PostAsJsonAsync("/api/sms/phone/verify", new { code = await CodeSentTo(app, twilio, phone) }))
        {
            Assert.True(verified.StatusCode == HttpStatusCode.OK, $"verify {phone}: {(int)verified.StatusCode} {await verified.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Runs the notification dispatcher as its timer would, and reads the newest verification code Twilio was asked to send to <paramref name="phone"/>.</summary>
    public static async Task<string> CodeSentTo(IwrsFactory app, FakeTwilioServer? twilio, string phone)
    {
        var now = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        await app.Services.GetRequiredService<NotificationDispatch>().RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, now, false), CancellationToken.None);
        var body = twilio is null
            ? (await Outbox.PageAsync(await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None), IwrsTable.SystemPartition, null, 1000, CancellationToken.None))
                .LastOrDefault(r => r.Notification.To == phone && r.Status == Iwrs.Domain.Notifications.DeliveryStatus.Sent)?.Notification.Body
            : twilio.Delivered.LastOrDefault(m => m.To == phone && m.Body.Contains("verification code", StringComparison.Ordinal))?.Body;
        Assert.NotNull(body);
        var match = System.Text.RegularExpressions.Regex.Match(body, "verification code is ([0-9]{6})");
        Assert.True(match.Success, "no code in the verification SMS");
        return match.Groups[1].Value;
    }

    public async Task SetPin(string user, string pin)
    {
        var client = await Lj_.Client(user);
        using var response = await client.PutAsJsonAsync("/api/sms/pin", new { pin });
        Assert.True(response.IsSuccessStatusCode, $"PIN for {user}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public static string NewSid() => "SM" + Interlocked.Increment(ref _sids).ToString("x32", CultureInfo.InvariantCulture);

    public static Dictionary<string, string> Form(string from, string body, string sid) => new(StringComparer.Ordinal)
    {
        ["ToCountry"] = "US",
        ["SmsMessageSid"] = sid,
        ["NumMedia"] = "0",
        ["SmsSid"] = sid,
        ["SmsStatus"] = "received",
        ["Body"] = body,
        ["To"] = FakeTwilioServer.FromNumber,
        ["NumSegments"] = "1",
        ["MessageSid"] = sid,
        ["AccountSid"] = FakeTwilioServer.AccountSid,
        ["From"] = from,
        ["ApiVersion"] = "2010-04-01",
    };

    /// <summary>Posts a signed inbound webhook, as Twilio would, to <paramref name="app"/> (another instance on the same table, or this one).</summary>
    public Task<SmsAnswer> Sms(string from, string body, string? sid = null, IwrsFactory? app = null) =>
        Post(app ?? App, "/api/sms/inbound", Form(from, body, sid ?? NewSid()), WebhookUrl);

    public static async Task<SmsAnswer> Post(IwrsFactory app, string path, IReadOnlyDictionary<string, string> form, string? signedUrl, string? signature = null)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        if (signature is not null || signedUrl is not null)
        {
            request.Headers.Add("X-Twilio-Signature", signature ?? TwilioSignature.Sign(FakeTwilioServer.AuthToken, signedUrl!, form));
        }

        using var response = await client.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        var type = response.Content.Headers.ContentType?.MediaType;
        var reply = type == "text/xml" ? XDocument.Parse(raw).Root!.Element("Message")?.Value : null;
        return new SmsAnswer(response.StatusCode, reply, raw, type);
    }

    /// <summary>The reply, asserting a 200 TwiML answer.</summary>
    public async Task<string?> Reply(string from, string body, string? sid = null, IwrsFactory? app = null)
    {
        var answer = await Sms(from, body, sid, app);
        Assert.True(answer.Status == HttpStatusCode.OK && answer.ContentType == "text/xml", $"{(int)answer.Status} {answer.Raw}");
        return answer.Reply;
    }

    /// <summary>RAND, then the code it answered with; the final reply.</summary>
    public async Task<string> Randomize(string from, string rand, IwrsFactory? app = null)
    {
        var prompt = await Reply(from, rand, app: app);
        var code = CodeIn(prompt);
        return (await Reply(from, code, app: app))!;
    }

    public static string CodeIn(string? prompt)
    {
        Assert.NotNull(prompt);
        var match = System.Text.RegularExpressions.Regex.Match(prompt, "reply ([A-Z2-9]{6}) within 5 minutes");
        Assert.True(match.Success, prompt);
        return match.Groups[1].Value;
    }

    public static string KitIn(string reply)
    {
        var match = System.Text.RegularExpressions.Regex.Match(reply, "kit ([A-Z0-9]+)");
        Assert.True(match.Success, reply);
        return match.Groups[1].Value;
    }

    public async Task<Azure.Data.Tables.TableClient> TableAsync() => await App.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);

    /// <summary>The audit records of a partition (a study's, or the system partition's), as stored.</summary>
    public async Task<List<AuditRecord>> AuditAsync(string partition)
    {
        var records = new List<AuditRecord>();
        await foreach (var r in AuditTrail.ReadAsync(await TableAsync(), partition, CancellationToken.None))
        {
            records.Add(r);
        }

        return records;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Twilio.DisposeAsync();
    }
}
