using System.Net;
using System.Text.Json;
using Iwrs.Functions.Features;
using Iwrs.Functions.Tests.Sms;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// The L. johnsonii trial end to end over HTTP on Azurite: configure, import kits, ship and receive, generate the
/// list, randomize, dispense across visits, discontinue, resupply by timer, unblind one subject, verify the trail
/// — with every blinded response, every SMS reply and every SMS notice to a blinded phone scanned for arm names, kit
/// types and block sizes.
/// </summary>
public sealed class BlindedStudyScenarioTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";
    private static readonly string[] KitTypes = ["LJ-CAPS", "PBO-CAPS"];

    private readonly CapturedLogs _logs = new();
    private FakeTwilioServer _twilio = null!;
    private IwrsFactory _app = null!;
    private TrialDriver _trial = null!;

    public async Task InitializeAsync()
    {
        _twilio = await FakeTwilioServer.StartAsync();
        var settings = _twilio.AppSettings();
        settings["Sms:WebhookUrl"] = SmsHarness.WebhookUrl;
        _app = new IwrsFactory(settings: settings, services: _logs.AddTo);
        await _app.LoadSeedStudies();
        _trial = new TrialDriver(_app, Study);
        await _app.Grant(Study, "depot", "depot-manager");
        await _app.Grant(Study, "pharm-cn01", "pharmacist", "CN01");
        await _app.Grant(Study, "pharm-cn02", "pharmacist", "CN02");
        await _app.Grant(Study, "coord-cn01", "site-coordinator", "CN01");
        await _app.Grant(Study, "coord-cn02", "site-coordinator", "CN02");
        await _app.Grant(Study, "inv-cn01", "unblinding-investigator", "CN01");
        await _app.Grant(Study, "monitor", "medical-monitor");
        await _app.Grant(Study, "manager", "study-manager");
        await _app.Grant(Study, "stat", "unblinded-statistician");

        // Notices go to the phones their recipients verified themselves.
        foreach (var (user, phone) in new[] { ("depot", "+15550000001"), ("pharm-cn01", "+15550000002"), ("monitor", "+15550000003"), ("pharm-cn02", "+15550000004"), ("coord-cn01", "+15550000005") })
        {
            await SmsHarness.RegisterPhone(_app, _twilio, await _trial.Client(user), phone);
        }

        foreach (var blinded in new[] { "pharm-cn01", "pharm-cn02", "coord-cn01", "coord-cn02", "monitor", "manager" })
        {
            _trial.BlindedUsers.Add(blinded);
        }
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _twilio.DisposeAsync();
    }

    [Fact]
    public async Task FullScenario_BlindedStudy_RunsOverHttpAndNoBlindedOutputRevealsTheArm()
    {
        // Kits: imported at the depot, shipped to CN01, received kit by kit (one damaged in transit).
        // Enough for CN01's kits and a resupply up to the file's maximum level at each of the three sites.
        await _trial.ImportKits("depot", KitTypes, perType: 80);
        var shipment = await _trial.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 8, ["PBO-CAPS"] = 8 } });
        var shipmentId = shipment.GetProperty("shipmentId").GetString()!;
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{shipmentId}/dispatch");
        var pharmacistShipments = await _trial.Ok("pharm-cn01", HttpMethod.Get, "shipments");
        var numbers = pharmacistShipments[0].GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).ToList();
        Assert.Equal(16, numbers.Count);
        await _trial.Ok("pharm-cn01", HttpMethod.Post, $"shipments/{shipmentId}/receive", new { kits = new[] { new { kitNumber = numbers[0], condition = "damaged" } } });
        var received = await _trial.Ok("pharm-cn01", HttpMethod.Post, $"shipments/{shipmentId}/receive", new { kits = numbers.Skip(1).Select(n => new { kitNumber = n, condition = "ok" }) });
        Assert.Equal("awaiting-release", received.GetProperty("status").GetString());
        Assert.Equal(0, (await _trial.Ok("pharm-cn01", HttpMethod.Get, "sites/CN01/inventory")).GetProperty("available").GetInt32());
        await _trial.Fails("pharm-cn01", HttpMethod.Post, $"shipments/{shipmentId}/release", null, HttpStatusCode.Forbidden, "not-authorized");
        Assert.Equal("received", (await _trial.Ok("depot", HttpMethod.Post, $"shipments/{shipmentId}/release")).GetProperty("status").GetString());
        var inventory = await _trial.Ok("pharm-cn01", HttpMethod.Get, "sites/CN01/inventory");
        Assert.Equal(15, inventory.GetProperty("available").GetInt32());
        Assert.DoesNotContain(numbers[0], inventory.GetRawText());

        // The damaged kit is replaced (its type plus one of each, 3 kits); until that is in, CN01 is on hold.
        var replacement = (await _trial.Ok("depot", HttpMethod.Get, "shipments?siteId=CN01")).EnumerateArray().Single(s => s.GetProperty("reason").GetString() == "replacement");
        Assert.Equal(3, replacement.GetProperty("kitCount").GetInt32());
        var replacementId = replacement.GetProperty("shipmentId").GetString()!;
        await _trial.Ok("depot", HttpMethod.Post, $"shipments/{replacementId}/dispatch");
        await _trial.Ok("pharm-cn01", HttpMethod.Post, $"shipments/{replacementId}/receive", new { kits = replacement.GetProperty("kits").EnumerateArray().Select(k => new { kitNumber = k.GetProperty("kitNumber").GetString(), condition = "ok" }) });
        Assert.Equal(18, (await _trial.Ok("pharm-cn01", HttpMethod.Get, "sites/CN01/inventory")).GetProperty("available").GetInt32());

        // The list: generated by the statistician from a seed, its commitment in the audit trail.
        var seed = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var list = await _trial.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { seed, slotsPerStratum = 24 });
        var commitment = list.GetProperty("commitment").GetString()!;
        await _trial.Fails("coord-cn01", HttpMethod.Get, "randomization-list/export", null, HttpStatusCode.Forbidden, "not-authorized");

        // Randomize six subjects across strata; a retry returns the same allocation.
        var strata = new[] { ("0", "yes"), ("1", "no"), ("0", "no"), ("1", "yes"), ("0", "yes"), ("0", "yes") };
        var randomized = new List<JsonElement>();
        for (var i = 0; i < strata.Length; i++)
        {
            var body = new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = new Dictionary<string, string> { ["ecog"] = strata[i].Item1, ["liver-mets"] = strata[i].Item2 } };
            var subject = await _trial.Ok("coord-cn01", HttpMethod.Post, $"subjects/S-{i + 1:D3}/randomize", body);
            Assert.Equal($"R{i + 1:D4}", subject.GetProperty("number").GetString());
            Assert.False(subject.TryGetProperty("arm", out _));
            randomized.Add(subject);
            var (status, again) = await _trial.Send("coord-cn01", HttpMethod.Post, $"subjects/S-{i + 1:D3}/randomize", body);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(subject.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString(), again.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString());
        }

        Assert.Equal(6, randomized.Select(r => r.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString()).Distinct().Count());
        await _trial.Fails("coord-cn02", HttpMethod.Post, "subjects/S-001/randomize", new { siteId = "CN02", eligibilityConfirmed = true, stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" } }, HttpStatusCode.Conflict, "subject-already-randomized-elsewhere");
        await _trial.Fails("coord-cn02", HttpMethod.Post, "subjects/S-100/randomize", new { siteId = "CN02", eligibilityConfirmed = true, stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" } }, HttpStatusCode.Conflict, "supply-hold");
        await _trial.Fails("coord-cn01", HttpMethod.Post, "subjects/S-101/randomize", new { siteId = "CN01", eligibilityConfirmed = false, stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" } }, HttpStatusCode.UnprocessableEntity, "eligibility-not-confirmed");
        await _trial.Fails("coord-cn01", HttpMethod.Post, "subjects/S-102/randomize", new { siteId = "CN02", eligibilityConfirmed = true, stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" } }, HttpStatusCode.Forbidden, "not-authorized-for-site");

        // Dispensing across visits: C2, C3; idempotent per visit; refused after discontinuation.
        var c2 = await _trial.Ok("coord-cn01", HttpMethod.Post, "subjects/S-001/visits/C2/dispense");
        var c2Again = await _trial.Ok("pharm-cn01", HttpMethod.Post, "subjects/S-001/visits/C2/dispense");
        Assert.Equal(c2.GetProperty("dispensations").GetRawText(), c2Again.GetProperty("dispensations").GetRawText());
        await _trial.Ok("coord-cn01", HttpMethod.Post, "subjects/S-001/visits/C3/dispense");
        await _trial.Ok("coord-cn01", HttpMethod.Post, "subjects/S-004/visits/C3/dispense");
        await _trial.Fails("coord-cn01", HttpMethod.Post, "subjects/S-004/visits/C2/dispense", null, HttpStatusCode.Conflict, "visit-out-of-order");
        await _trial.Fails("coord-cn01", HttpMethod.Post, "subjects/S-001/visits/C99/dispense", null, HttpStatusCode.NotFound, "unknown-visit");
        await _trial.Ok("coord-cn01", HttpMethod.Post, "subjects/S-002/discontinue", new { reason = "Withdrew consent" });
        await _trial.Fails("coord-cn01", HttpMethod.Post, "subjects/S-002/visits/C2/dispense", null, HttpStatusCode.Conflict, "subject-discontinued");

        // CN02's refusal put it on supply hold, which ordered an urgent shipment up to the maximum level at once.
        // Resupply by timer: CN03 has nothing (CN01 may be low too, depending on the list). Twice in a row orders once.
        var maximum = System.Text.Json.Nodes.JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!["supply"]!["maximumLevel"]!.GetValue<int>();
        var resupply = _app.Services.GetRequiredService<ResupplyCheck>();
        var first = await resupply.RunAsync(new Iwrs.Functions.Hosting.TimerInvocation(ResupplyCheck.FunctionName, DateTimeOffset.UnixEpoch, false), CancellationToken.None);
        var second = await resupply.RunAsync(new Iwrs.Functions.Hosting.TimerInvocation(ResupplyCheck.FunctionName, DateTimeOffset.UnixEpoch, false), CancellationToken.None);
        Assert.DoesNotContain(first, l => l.StartsWith($"{Study}/CN02: shipment", StringComparison.Ordinal));
        Assert.Contains(first, l => l.StartsWith($"{Study}/CN03: shipment", StringComparison.Ordinal));
        Assert.DoesNotContain(second, l => l.Contains("shipment", StringComparison.Ordinal));
        var toCn02 = await _trial.Ok("pharm-cn02", HttpMethod.Get, "shipments");
        Assert.Equal(("urgent", maximum), (toCn02[0].GetProperty("reason").GetString(), toCn02[0].GetProperty("kitCount").GetInt32()));
        var depotView = await _trial.Ok("depot", HttpMethod.Get, "shipments?siteId=CN02");
        Assert.Equal(maximum / 2, depotView[0].GetProperty("byKitType").GetProperty("LJ-CAPS").GetInt32());
        Assert.Equal(maximum - (maximum / 2), depotView[0].GetProperty("byKitType").GetProperty("PBO-CAPS").GetInt32());

        // Emergency unblinding of one subject, with a reason; others learn nothing.
        await _trial.Fails("inv-cn01", HttpMethod.Post, "subjects/S-003/unblind", new { reason = "" }, HttpStatusCode.BadRequest, "validation-failed");
        await _trial.Fails("coord-cn01", HttpMethod.Post, "subjects/S-003/unblind", new { reason = "curious" }, HttpStatusCode.Forbidden, "not-authorized");
        var unblinded = await _trial.Ok("inv-cn01", HttpMethod.Post, "subjects/S-003/unblind", new { reason = "Grade 4 hepatotoxicity, treating physician needs to know" });
        Assert.Contains(unblinded.GetProperty("arm").GetString(), new[] { "LJ", "PBO" });
        var asStatistician = await _trial.Ok("stat", HttpMethod.Get, "subjects/S-003");
        Assert.Equal(unblinded.GetProperty("arm").GetString(), asStatistician.GetProperty("arm").GetString());
        var asCoordinator = await _trial.Ok("coord-cn01", HttpMethod.Get, "subjects/S-003");
        Assert.True(asCoordinator.GetProperty("unblinded").GetBoolean());

        // By SMS: the same people's commands, every reply kept for the scan below (S-003 is the unblinded subject).
        await _trial.Ok("coord-cn01", HttpMethod.Put, "/api/sms/pin", new { pin = SmsHarness.Pin });
        await _trial.Ok("pharm-cn01", HttpMethod.Put, "/api/sms/pin", new { pin = SmsHarness.Pin });
        var replies = new List<string>();
        async Task<string> Sms(string phone, string text)
        {
            var answer = await SmsHarness.Post(_app, "/api/sms/inbound", SmsHarness.Form(phone, text, SmsHarness.NewSid()), SmsHarness.WebhookUrl);
            Assert.True(answer.Status == HttpStatusCode.OK, $"SMS {text}: {(int)answer.Status} {answer.Raw}");
            replies.Add(answer.Reply ?? string.Empty);
            return answer.Reply ?? string.Empty;
        }

        const string coordPhone = "+15550000005", pharmPhone = "+15550000002", pin = SmsHarness.Pin;
        await Sms(coordPhone, "HELP");
        var prompt = await Sms(coordPhone, $"RAND {Study} S-007 CN01 ecog=1 liver-mets=no {pin}");
        var done = await Sms(coordPhone, SmsHarness.CodeIn(prompt));
        Assert.True(done.StartsWith($"Iwrs {Study} S-007: randomized, number R0007.", StringComparison.Ordinal) || done.StartsWith("Iwrs: not done (supply-hold)", StringComparison.Ordinal), done);
        foreach (var subject in new[] { "S-001", "S-002", "S-003", "S-004", "S-007" })
        {
            await Sms(coordPhone, $"STATUS {Study} {subject} {pin}");
        }

        await Sms(coordPhone, $"DISP {Study} S-001 C4 {pin}");
        await Sms(pharmPhone, $"DISP {Study} S-004 C4 {pin}");
        await Sms(coordPhone, $"DISP {Study} S-002 C2 {pin}");
        await Sms(pharmPhone, $"RECV {Study} {replacementId} {pin}");
        await Sms(pharmPhone, $"STATUS {Study} S-003 {pin}");
        Assert.Contains("unblinding is not offered by SMS", await Sms(coordPhone, $"UNBLIND {Study} S-003 {pin}"), StringComparison.Ordinal);
        Assert.StartsWith("Iwrs: wrong PIN", await Sms(coordPhone, $"STATUS {Study} S-003 1357"), StringComparison.Ordinal);
        await Sms(coordPhone, "what is the arm of S-003?");
        Assert.Contains(replies, r => r.StartsWith($"Iwrs {Study} S-003 (R0003, site CN01): randomized.", StringComparison.Ordinal));
        Assert.Contains(replies, r => r.StartsWith("Iwrs: not done (subject-discontinued)", StringComparison.Ordinal));
        foreach (var reply in replies)
        {
            foreach (var term in BlindedTerms.Append("block").Append("placebo").Append("PBO"))
            {
                Assert.False(reply.Contains(term, StringComparison.OrdinalIgnoreCase), $"an SMS reply contains '{term}': {reply}");
            }

            // The arm code LJ alone (the study id LJ-MCRC holds it too).
            Assert.False(System.Text.RegularExpressions.Regex.IsMatch(reply, @"\bLJ\b(?!-MCRC)"), $"an SMS reply names the arm: {reply}");
        }

        // The trail: the list's commitment, every change, and a chain that verifies.
        var audit = await _trial.Ok("manager", HttpMethod.Get, "audit");
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "randomization-list.activated" &&
            r.GetProperty("changes").EnumerateArray().Any(c => c.GetProperty("after").GetString() == commitment));
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("action").GetString() == "subject.unblinded" && r.GetProperty("reason").GetString()!.StartsWith("Grade 4", StringComparison.Ordinal));
        var verify = await _trial.Ok("manager", HttpMethod.Get, "audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());

        // Blinded users read everything they can, then every body they ever received is scanned.
        foreach (var user in _trial.BlindedUsers)
        {
            foreach (var path in new[] { $"/api/studies/{Study}", "subjects/S-001", "subjects/S-003", "sites/CN01/inventory", "sites/CN02/inventory", "shipments", "audit" })
            {
                await _trial.Send(user, HttpMethod.Get, path);
            }
        }

        Assert.True(_trial.BlindedBodies.Count > 60);
        foreach (var (user, request, body) in _trial.BlindedBodies)
        {
            foreach (var term in BlindedTerms)
            {
                Assert.False(body.Contains(term, StringComparison.OrdinalIgnoreCase), $"{user} saw '{term}' in {request}: {body}");
            }
        }

        // SMS: delivered through Twilio's API (a fake on loopback). The depot's pick list names kit types — the
        // scan would find them — while the pharmacists' and the medical monitor's texts must not.
        var dispatch = _app.Services.GetRequiredService<Iwrs.Functions.Notifications.NotificationDispatch>();
        await dispatch.RunAsync(new Iwrs.Functions.Hosting.TimerInvocation("NotificationDispatch", DateTimeOffset.UnixEpoch, false), CancellationToken.None);
        var sms = _twilio.Delivered;
        Assert.Contains(sms, m => m.To == "+15550000001" && m.Body.Contains("LJ-CAPS", StringComparison.Ordinal));
        Assert.Contains(sms, m => m.To == "+15550000004" && m.Body.Contains("on its way to site CN02", StringComparison.Ordinal));
        Assert.Contains(sms, m => m.To == "+15550000003" && m.Body.Contains("unblinded in an emergency", StringComparison.Ordinal));
        foreach (var text in sms.Where(m => m.To != "+15550000001"))
        {
            foreach (var term in BlindedTerms.Append("block"))
            {
                Assert.False(text.Body.Contains(term, StringComparison.OrdinalIgnoreCase), $"SMS to {text.To} contains '{term}': {text.Body}");
            }
        }

        // Log lines, at every level: read by operations staff who may be blinded.
        Assert.Contains(_logs.Lines, l => l.StartsWith("Debug ", StringComparison.Ordinal));
        Assert.Contains(_logs.Lines, l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains("/randomize", StringComparison.Ordinal));
        foreach (var line in _logs.Lines)
        {
            foreach (var term in BlindedTerms)
            {
                Assert.False(line.Contains(term, StringComparison.OrdinalIgnoreCase), $"a log line contains '{term}': {line}");
            }
        }
    }

    /// <summary>Arm names and codes, kit type codes and descriptions, block sizes and list positions.</summary>
    public static readonly string[] BlindedTerms =
    [
        "CapeOX + pembrolizumab + Lactobacillus johnsonii", "CapeOX + pembrolizumab + placebo", "LJ-CAPS", "PBO-CAPS",
        "Lactobacillus johnsonii capsules", "Placebo capsules", "\"arm\":", "\"kitType\":", "blockSize", "listPosition\":", "\"LJ\"", "\"PBO\"",
    ];
}
