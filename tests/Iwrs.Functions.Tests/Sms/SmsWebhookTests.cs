using System.Net;
using System.Net.Http.Json;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Notifications;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Functions.Tests.Scenarios;
using Iwrs.Storage.Stores;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Sms;

/// <summary>The app with both seed studies stocked and staffed, shared by the end-to-end SMS tests (each uses its own subjects and phones).</summary>
public sealed class SmsWebhookFixture : IAsyncLifetime
{
    public const string LjCoord = "+15550100001";
    public const string LjPharm = "+15550100002";
    public const string LjCoord2 = "+15550100003";
    public const string LjLocked = "+15550100004";
    public const string LjDepot = "+15550100009";
    public const string AkkCoord = "+15550100011";
    public const string AkkPharm = "+15550100012";
    public const string Stranger = "+15550199999";

    public SmsHarness H { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        H = await SmsHarness.StartAsync(
        [
            (SmsHarness.Lj, "depot", "depot-manager", null, LjDepot),
            (SmsHarness.Lj, "stat", "unblinded-statistician", null, null),
            (SmsHarness.Lj, "manager", "study-manager", null, null),
            (SmsHarness.Lj, "coord-cn01", "site-coordinator", "CN01", LjCoord),
            (SmsHarness.Lj, "pharm-cn01", "pharmacist", "CN01", LjPharm),
            (SmsHarness.Lj, "coord2-cn01", "site-coordinator", "CN01", LjCoord2),
            (SmsHarness.Lj, "locked-cn01", "site-coordinator", "CN01", LjLocked),
            (SmsHarness.Akk, "akk-depot", "depot-manager", null, null),
            (SmsHarness.Akk, "akk-manager", "study-manager", null, null),
            (SmsHarness.Akk, "akk-coord", "site-coordinator", "CN01", AkkCoord),
            (SmsHarness.Akk, "akk-pharm", "pharmacist", "CN01", AkkPharm),
        ]);
        await H.Lj_.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 60);
        await H.Lj_.Stock("depot", "pharm-cn01", "CN01", new Dictionary<string, int> { ["LJ-CAPS"] = 12, ["PBO-CAPS"] = 12 });
        await H.Lj_.Ok("stat", HttpMethod.Post, "randomization-list/generate", new { slotsPerStratum = 24 });
        await H.Akk_.ImportKits("akk-depot", ["AKK-CAPS"], perType: 40);
        await H.Akk_.Stock("akk-depot", "akk-pharm", "CN01", new Dictionary<string, int> { ["AKK-CAPS"] = 12 });
    }

    public async Task DisposeAsync() => await H.DisposeAsync();
}

/// <summary>
/// Real signed form webhooks, posted to the app on Azurite, for every command in both seed studies: the confirmation
/// step, an expired code, replays, forged and missing signatures, an unknown phone, five wrong PINs, garbage and an
/// oversized body. Each gets the right reply and never a 500; nothing is done twice; the audit trail says sms.
/// </summary>
public sealed class SmsWebhookTests(SmsWebhookFixture fixture) : IClassFixture<SmsWebhookFixture>
{
    private const string Pin = SmsHarness.Pin;
    private const string Lj = SmsHarness.Lj;
    private const string Akk = SmsHarness.Akk;
    private SmsHarness H => fixture.H;

    private async Task<List<AuditRecord>> Records(string study, string action, string target) =>
        [.. (await H.AuditAsync(study)).Where(r => r.Action == action && r.Target == target)];

    [Fact]
    public async Task Rand_BlindedStudy_CodeThenRandomizedOnceOnTheSamePathAsHttp()
    {
        var prompt = await H.Reply(SmsWebhookFixture.LjCoord, $"rand lj-mcrc S-101  cn01 ECOG=0 liver-mets=YES {Pin}");
        var code = SmsHarness.CodeIn(prompt);
        Assert.Contains("S-101 at CN01 (ecog=0 liver-mets=yes) is eligible and randomize it", prompt, StringComparison.Ordinal);

        // Nothing is randomized until the code comes back.
        await H.Lj_.Fails("stat", HttpMethod.Get, "subjects/S-101", null, HttpStatusCode.NotFound, "subject-not-found");

        var done = (await H.Reply(SmsWebhookFixture.LjCoord, code.ToLowerInvariant()))!;
        var subject = await H.Lj_.Ok("stat", HttpMethod.Get, "subjects/S-101");
        Assert.Contains($"S-101: randomized, number {subject.GetProperty("number").GetString()}.", done, StringComparison.Ordinal);
        Assert.Equal(subject.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString(), SmsHarness.KitIn(done));
        Assert.Equal("ecog=0;liver-mets=yes", subject.GetProperty("stratum").GetString());
        foreach (var term in BlindedStudyScenarioTests.BlindedTerms.Append("placebo"))
        {
            Assert.DoesNotContain(term, done + prompt, StringComparison.OrdinalIgnoreCase);
        }

        // The arm code as a word of its own (LJ is also the start of the study id).
        Assert.DoesNotMatch($@"\b{subject.GetProperty("arm").GetString()}\b(?!-MCRC)", done + prompt);

        // A second confirmation does nothing.
        Assert.Equal($"Iwrs: code {code} was already used. Nothing more was done.", await H.Reply(SmsWebhookFixture.LjCoord, code));
        var records = await Records(Lj, "subject.randomized", "subject:S-101");
        var record = Assert.Single(records);
        Assert.Equal((Channel.Sms, "coord-cn01", "site-coordinator"), (record.Channel, record.UserId, record.Role));
        var audit = await H.Lj_.Ok("manager", HttpMethod.Get, "audit");
        Assert.Contains(audit.EnumerateArray(), r => r.GetProperty("target").GetString() == "subject:S-101" && r.GetProperty("channel").GetString() == "sms");
    }

    [Fact]
    public async Task Rand_SingleArmStudy_EnrolledAfterTheCode()
    {
        var done = await H.Randomize(SmsWebhookFixture.AkkCoord, $"RAND AKK-MCRC A-101 CN01 {Pin}");

        var subject = await H.Akk_.Ok("akk-manager", HttpMethod.Get, "subjects/A-101");
        Assert.Contains($"A-101: enrolled, number {subject.GetProperty("number").GetString()}. Dispense kit {subject.GetProperty("dispensations")[0].GetProperty("kitNumber").GetString()} (C1).", done, StringComparison.Ordinal);
        Assert.Equal(Channel.Sms, Assert.Single(await Records(Akk, "subject.enrolled", "subject:A-101")).Channel);
    }

    [Theory]
    [InlineData(Lj, SmsWebhookFixture.LjCoord, "S-102", "ecog=1 liver-mets=no", "stat")]
    [InlineData(Akk, SmsWebhookFixture.AkkCoord, "A-102", "", "akk-manager")]
    public async Task Disp_BothStudies_KitOnceAndTheSameKitWhenRepeated(string study, string phone, string subject, string factors, string reader)
    {
        await H.Randomize(phone, $"RAND {study} {subject} CN01 {factors} {Pin}");

        var first = (await H.Reply(phone, $"disp {study.ToLowerInvariant()} {subject} c2 {Pin}"))!;
        var again = (await H.Reply(phone, $"DISP {study} {subject} C2 {Pin}"))!;

        var trial = new TrialDriver(H.App, study);
        var stored = await trial.Ok(reader, HttpMethod.Get, $"subjects/{subject}");
        var c2 = stored.GetProperty("dispensations").EnumerateArray().Single(d => d.GetProperty("visit").GetString() == "C2").GetProperty("kitNumber").GetString();
        Assert.Equal($"Iwrs {study} {subject} C2: dispense kit {c2}.", first);
        Assert.Equal(first, again);
        Assert.Equal(Channel.Sms, Assert.Single(await Records(study, "kit.dispensed", $"subject:{subject}")).Channel);
    }

    [Theory]
    [InlineData(Lj, "depot", SmsWebhookFixture.LjPharm, "LJ-CAPS,PBO-CAPS")]
    [InlineData(Akk, "akk-depot", SmsWebhookFixture.AkkPharm, "AKK-CAPS")]
    public async Task Recv_BothStudies_EveryKitReceivedOkOnce(string study, string depot, string pharmacist, string types)
    {
        var trial = new TrialDriver(H.App, study);
        var shipment = await trial.Ok(depot, HttpMethod.Post, "shipments", new { siteId = "CN01", kits = types.Split(',').ToDictionary(t => t, _ => 2) });
        var id = shipment.GetProperty("shipmentId").GetString()!;
        var count = shipment.GetProperty("kitCount").GetInt32();
        Assert.StartsWith("Iwrs: not done (shipment-not-dispatched)", await H.Reply(pharmacist, $"RECV {study} {id} {Pin}"), StringComparison.Ordinal);
        await trial.Ok(depot, HttpMethod.Post, $"shipments/{id}/dispatch");

        var reply = await H.Reply(pharmacist, $"recv {study} {id.ToLowerInvariant()} {Pin}");
        var again = await H.Reply(pharmacist, $"RECV {study} {id} {Pin}");

        Assert.Equal($"Iwrs {study} shipment {id} at CN01: {count} of {count} kits received ok; its kits are on the shelf.", reply);
        Assert.Equal(reply, again);
        Assert.Equal("received", (await trial.Ok(depot, HttpMethod.Get, "shipments?siteId=CN01")).EnumerateArray().Single(s => s.GetProperty("shipmentId").GetString() == id).GetProperty("status").GetString());
        var record = Assert.Single(await Records(study, "shipment.received", $"shipment:{id}"));
        Assert.Equal(Channel.Sms, record.Channel);
        foreach (var type in types.Split(','))
        {
            Assert.DoesNotContain(type, reply, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(Lj, SmsWebhookFixture.LjCoord, "S-103", "ecog=0 liver-mets=no")]
    [InlineData(Akk, SmsWebhookFixture.AkkCoord, "A-103", "")]
    public async Task Status_BothStudies_StateLastVisitAndNextDue(string study, string phone, string subject, string factors)
    {
        await H.Randomize(phone, $"RAND {study} {subject} CN01 {factors} {Pin}");
        var trial = new TrialDriver(H.App, study);
        var reader = study == Lj ? "manager" : "akk-manager";
        var stored = await trial.Ok(reader, HttpMethod.Get, $"subjects/{subject}");
        var at = stored.GetProperty("dispensations")[0].GetProperty("at").GetDateTimeOffset();

        var reply = await H.Reply(phone, $"STATUS {study} {subject} {Pin}");

        Assert.Equal(
            $"Iwrs {study} {subject} ({stored.GetProperty("number").GetString()}, site CN01): randomized. Last visit C1 on {at:yyyy-MM-dd}. Next C2 due {at.AddDays(21):yyyy-MM-dd} (+/-3 days).",
            reply);
    }

    [Theory]
    [InlineData(SmsWebhookFixture.LjCoord, "RAND LJ-MCRC S-001 CN01 ecog=0 liver-mets=yes PIN")]
    [InlineData(SmsWebhookFixture.AkkCoord, "RAND AKK-MCRC S-001 CN01 PIN")]
    public async Task Help_BothStudies_ExamplesForTheSendersStudy(string phone, string example)
    {
        var reply = await H.Reply(phone, "  Help ");

        Assert.Contains(example, reply, StringComparison.Ordinal);
        Assert.Contains("Unblinding: API or web only.", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Confirm_AfterFiveMinutes_ExpiredAndNothingDone()
    {
        var code = SmsHarness.CodeIn(await H.Reply(SmsWebhookFixture.LjCoord2, $"RAND LJ-MCRC S-104 CN01 ecog=1 liver-mets=yes {Pin}"));
        H.Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        Assert.Equal($"Iwrs: code {code} has expired (5 minutes). Nothing was done; send the RAND message again.", await H.Reply(SmsWebhookFixture.LjCoord2, code));
        await H.Lj_.Fails("stat", HttpMethod.Get, "subjects/S-104", null, HttpStatusCode.NotFound, "subject-not-found");
        Assert.Empty(await Records(Lj, "subject.randomized", "subject:S-104"));
    }

    [Fact]
    public async Task Confirm_FromAnotherPhone_UnknownCode()
    {
        var code = SmsHarness.CodeIn(await H.Reply(SmsWebhookFixture.LjCoord, $"RAND LJ-MCRC S-105 CN01 ecog=1 liver-mets=yes {Pin}"));

        Assert.Equal($"Iwrs: no pending request with code {code} from this phone. Nothing was done.", await H.Reply(SmsWebhookFixture.LjCoord2, code));
        await H.Lj_.Fails("stat", HttpMethod.Get, "subjects/S-105", null, HttpStatusCode.NotFound, "subject-not-found");
    }

    [Fact]
    public async Task Replay_SameMessageSid_FirstReplyAndNothingDoneAgain()
    {
        var randSid = SmsHarness.NewSid();
        var prompt = await H.Reply(SmsWebhookFixture.LjCoord, $"RAND LJ-MCRC S-106 CN01 ecog=0 liver-mets=yes {Pin}", randSid);
        Assert.Equal(prompt, await H.Reply(SmsWebhookFixture.LjCoord, $"RAND LJ-MCRC S-106 CN01 ecog=0 liver-mets=yes {Pin}", randSid));

        var confirmSid = SmsHarness.NewSid();
        var done = await H.Reply(SmsWebhookFixture.LjCoord, SmsHarness.CodeIn(prompt), confirmSid);
        var replayed = await H.Reply(SmsWebhookFixture.LjCoord, SmsHarness.CodeIn(prompt), confirmSid);
        var dispSid = SmsHarness.NewSid();
        var disp = await H.Reply(SmsWebhookFixture.LjCoord, $"DISP LJ-MCRC S-106 C2 {Pin}", dispSid);
        var auditCount = (await H.AuditAsync(Lj)).Count;
        Assert.Equal(disp, await H.Reply(SmsWebhookFixture.LjCoord, $"DISP LJ-MCRC S-106 C2 {Pin}", dispSid));

        Assert.Equal(done, replayed);
        Assert.StartsWith("Iwrs LJ-MCRC S-106: randomized", done, StringComparison.Ordinal);
        Assert.Equal(auditCount, (await H.AuditAsync(Lj)).Count);
        Assert.Single(await Records(Lj, "subject.randomized", "subject:S-106"));
    }

    [Fact]
    public async Task Replay_OfAWrongPin_CountedOnce()
    {
        var sid = SmsHarness.NewSid();
        var first = await H.Reply(SmsWebhookFixture.AkkPharm, "STATUS AKK-MCRC A-999 9753", sid);
        var again = await H.Reply(SmsWebhookFixture.AkkPharm, "STATUS AKK-MCRC A-999 9753", sid);
        Assert.Equal(first, again);
        Assert.StartsWith("Iwrs: wrong PIN (1 of 5)", first, StringComparison.Ordinal);

        // The right PIN clears the count (audited too).
        Assert.StartsWith("Iwrs: not done (subject-not-found)", await H.Reply(SmsWebhookFixture.AkkPharm, $"STATUS AKK-MCRC A-999 {Pin}"), StringComparison.Ordinal);
        var system = await H.AuditAsync(IwrsTable.SystemPartition);
        Assert.Single(system, r => r.Target == "user:akk-pharm" && r.Action == "sms.pin-failed");
        Assert.Single(system, r => r.Target == "user:akk-pharm" && r.Action == "sms.pin-accepted");
    }

    [Theory]
    [InlineData("forged")]
    [InlineData("missing")]
    [InlineData("other-url")]
    [InlineData("tampered")]
    public async Task Signature_NotTwilios_403AndNothingDone(string how)
    {
        var sid = SmsHarness.NewSid();
        var before = (await ConfirmationsOf(SmsWebhookFixture.LjCoord), (await H.AuditAsync(Lj)).Count, (await H.AuditAsync(IwrsTable.SystemPartition)).Count);
        var form = SmsHarness.Form(SmsWebhookFixture.LjCoord, $"RAND LJ-MCRC S-107 CN01 ecog=0 liver-mets=yes {Pin}", sid);
        var signed = TwilioSignature.Sign(FakeTwilioServer.AuthToken, SmsHarness.WebhookUrl, form);
        var answer = how switch
        {
            "forged" => await SmsHarness.Post(H.App, "/api/sms/inbound", form, null, signature: TwilioSignature.Sign("not-the-token", SmsHarness.WebhookUrl, form)),
            "missing" => await SmsHarness.Post(H.App, "/api/sms/inbound", form, null),
            "other-url" => await SmsHarness.Post(H.App, "/api/sms/inbound", form, "http://localhost/api/sms/inbound"),
            _ => await SmsHarness.Post(H.App, "/api/sms/inbound", new Dictionary<string, string>(form) { ["Body"] = $"RAND LJ-MCRC S-108 CN01 ecog=0 liver-mets=yes {Pin}" }, null, signed),
        };

        Assert.Equal(HttpStatusCode.Forbidden, answer.Status);
        Assert.Equal("sms-signature-invalid", answer.Problem.GetProperty("code").GetString());
        Assert.Null(await (await H.TableAsync()).GetRowAsync(IwrsTable.SystemPartition, SmsRows.MessagePrefix + sid));
        Assert.Equal(before, (await ConfirmationsOf(SmsWebhookFixture.LjCoord), (await H.AuditAsync(Lj)).Count, (await H.AuditAsync(IwrsTable.SystemPartition)).Count));
    }

    /// <summary>The pending confirmations of <paramref name="phone"/> (<c>sms-confirm|{phone}|{code}</c>).</summary>
    private async Task<int> ConfirmationsOf(string phone)
    {
        var count = 0;
        await foreach (var unused in (await H.TableAsync()).QueryPrefixAsync(IwrsTable.SystemPartition, SmsRows.ConfirmationPrefix + phone + "|"))
        {
            count++;
        }

        return count;
    }

    [Theory]
    [InlineData("HELP")]
    [InlineData("RAND LJ-MCRC S-109 CN01 ecog=0 liver-mets=yes 2468")]
    [InlineData("gibberish")]
    public async Task UnknownPhone_OneNeutralReplyAndNothingElse(string text)
    {
        var before = (await H.AuditAsync(Lj)).Count + (await H.AuditAsync(IwrsTable.SystemPartition)).Count;

        var reply = await H.Reply(SmsWebhookFixture.Stranger, text);

        Assert.Equal("Iwrs: this number is not registered for SMS. Ask your study manager.", reply);
        Assert.Equal(before, (await H.AuditAsync(Lj)).Count + (await H.AuditAsync(IwrsTable.SystemPartition)).Count);
    }

    [Fact]
    public async Task FiveWrongPins_LockedUntilAStudyManagerUnlocks_EveryStepAudited()
    {
        for (var i = 1; i <= 4; i++)
        {
            Assert.StartsWith($"Iwrs: wrong PIN ({i} of 5). Nothing was done.", await H.Reply(SmsWebhookFixture.LjLocked, $"STATUS LJ-MCRC S-101 {1350 + i}"), StringComparison.Ordinal);
        }

        Assert.StartsWith("Iwrs: wrong PIN (5 of 5). Nothing was done and SMS is now locked.", await H.Reply(SmsWebhookFixture.LjLocked, "STATUS LJ-MCRC S-101 1359"), StringComparison.Ordinal);
        Assert.StartsWith("Iwrs: SMS is locked after 5 wrong PINs", await H.Reply(SmsWebhookFixture.LjLocked, $"STATUS LJ-MCRC S-101 {Pin}"), StringComparison.Ordinal);
        Assert.StartsWith("Iwrs: SMS is locked", await H.Reply(SmsWebhookFixture.LjLocked, $"RAND LJ-MCRC S-110 CN01 ecog=0 liver-mets=yes {Pin}"), StringComparison.Ordinal);

        // Only a study manager of the study unlocks; a coordinator cannot, not even their own.
        await H.Lj_.Fails("locked-cn01", HttpMethod.Post, "sms/users/locked-cn01/unlock", null, HttpStatusCode.Forbidden, "not-authorized");
        await H.Lj_.Fails("manager", HttpMethod.Post, "sms/users/nobody/unlock", null, HttpStatusCode.NotFound, "sms-user-not-found");
        var state = await H.Lj_.Ok("manager", HttpMethod.Get, "sms/users/locked-cn01");
        Assert.True(state.GetProperty("locked").GetBoolean());
        var unlocked = await H.Lj_.Ok("manager", HttpMethod.Post, "sms/users/locked-cn01/unlock");
        Assert.False(unlocked.GetProperty("locked").GetBoolean());
        Assert.Equal(0, unlocked.GetProperty("failures").GetInt32());

        Assert.StartsWith("Iwrs: not done (subject-not-found)", await H.Reply(SmsWebhookFixture.LjLocked, $"STATUS LJ-MCRC S-999 {Pin}"), StringComparison.Ordinal);
        var trail = (await H.AuditAsync(IwrsTable.SystemPartition)).Where(r => r.Target == "user:locked-cn01").ToList();
        Assert.Equal(["sms.phone-code-sent", "sms.phone-verified", "sms.pin-set", "sms.pin-failed", "sms.pin-failed", "sms.pin-failed", "sms.pin-failed", "sms.locked", "sms.unlocked"], trail.Select(r => r.Action));
        Assert.All(trail.Skip(3).Take(5), r => Assert.Equal(Channel.Sms, r.Channel));
        Assert.Equal(("manager", "study-manager"), (trail[^1].UserId, trail[^1].Role));
        Assert.Contains(trail[7].Changes, c => c.Field == "studyId" && c.After == Lj);

        // The attack the unlock rule stops: the manager of another study grants the user a role there (a phone of
        // their choosing could come with it), guesses five PINs, unlocks, guesses five more. A manager unlocks only
        // users all of whose studies they manage; an administrator unlocks anyone.
        await H.Akk_.Ok("akk-manager", HttpMethod.Post, "role-assignments", new { userId = "locked-cn01", role = "pharmacist", siteId = "CN01" });
        for (var i = 1; i <= 5; i++)
        {
            await H.Reply(SmsWebhookFixture.LjLocked, $"STATUS LJ-MCRC S-101 {1360 + i}");
        }

        await H.Akk_.Fails("akk-manager", HttpMethod.Post, "sms/users/locked-cn01/unlock", null, HttpStatusCode.Forbidden, "not-authorized");
        await H.Lj_.Fails("manager", HttpMethod.Post, "sms/users/locked-cn01/unlock", null, HttpStatusCode.Forbidden, "not-authorized");
        Assert.StartsWith("Iwrs: SMS is locked", await H.Reply(SmsWebhookFixture.LjLocked, $"STATUS LJ-MCRC S-101 {Pin}"), StringComparison.Ordinal);
        Assert.False((await H.Lj_.Ok(IwrsFactory.Admin, HttpMethod.Post, "sms/users/locked-cn01/unlock")).GetProperty("locked").GetBoolean());
    }

    [Theory]
    [InlineData("", "Expected a command.")]
    [InlineData("%%% \u0000 \ud83d\ude00 ???", "Expected RAND, DISP, RECV, STATUS or HELP first.")]
    [InlineData("RAND LJ-MCRC", "Expected RAND <study> <subject> <site> <factor=value...> <PIN>.")]
    [InlineData("DISP LJ-MCRC S-101 C2", "Expected DISP <study> <subject> <visit> <PIN>.")]
    public async Task Garbage_ShortReplySayingWhatWasExpected(string text, string expected)
    {
        var reply = await H.Reply(SmsWebhookFixture.LjCoord, text);

        Assert.Contains(expected, reply, StringComparison.Ordinal);
        Assert.InRange(reply!.Length, 1, 306);
    }

    [Fact]
    public async Task Refusals_InTheApisCodesAndWords()
    {
        Assert.StartsWith("Iwrs: not done (not-authorized-for-site)", await H.Reply(SmsWebhookFixture.LjCoord, $"RAND LJ-MCRC S-111 CN02 ecog=0 liver-mets=yes {Pin}"), StringComparison.Ordinal);
        Assert.StartsWith("Iwrs: not done (validation-failed)", await H.Reply(SmsWebhookFixture.LjCoord, $"RAND LJ-MCRC S-111 CN01 ecog=7 {Pin}"), StringComparison.Ordinal);
        Assert.StartsWith("Iwrs: not done (study-not-found)", await H.Reply(SmsWebhookFixture.LjCoord, $"STATUS AKK-MCRC A-101 {Pin}"), StringComparison.Ordinal);
        Assert.StartsWith("Iwrs: not done (not-authorized)", await H.Reply(SmsWebhookFixture.LjPharm, $"RAND LJ-MCRC S-111 CN01 ecog=0 liver-mets=yes {Pin}"), StringComparison.Ordinal);
        Assert.StartsWith("Iwrs: not done (unknown-visit)", await H.Reply(SmsWebhookFixture.LjCoord, $"DISP LJ-MCRC S-101 X9 {Pin}"), StringComparison.Ordinal);
        Assert.Equal(SmsRepliesNoUnblinding, await H.Reply(SmsWebhookFixture.LjCoord, $"UNBLIND LJ-MCRC S-101 {Pin}"));
    }

    private const string SmsRepliesNoUnblinding = "Iwrs: unblinding is not offered by SMS (a text stays in logs and on the phone). Use the API or web.";

    [Fact]
    public async Task BadRequests_4xxNeverA500()
    {
        var huge = SmsHarness.Form(SmsWebhookFixture.LjCoord, new string('x', 20_000), SmsHarness.NewSid());
        var tooLarge = await SmsHarness.Post(H.App, "/api/sms/inbound", huge, SmsHarness.WebhookUrl);
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "request-too-large"), (tooLarge.Status, tooLarge.Problem.GetProperty("code").GetString()));

        using var client = H.App.CreateClient();
        using var json = await client.PostAsync("/api/sms/inbound", IwrsFactory.Json("{\"Body\":\"HELP\"}"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);

        var notAPhone = await SmsHarness.Post(H.App, "/api/sms/inbound", SmsHarness.Form("whatsapp:+15550100001", "HELP", SmsHarness.NewSid()), SmsHarness.WebhookUrl);
        Assert.Equal(HttpStatusCode.BadRequest, notAPhone.Status);
        var noSid = SmsHarness.Form(SmsWebhookFixture.LjCoord, "HELP", "not-a-sid");
        Assert.Equal(HttpStatusCode.BadRequest, (await SmsHarness.Post(H.App, "/api/sms/inbound", noSid, SmsHarness.WebhookUrl)).Status);

        using var twice = new HttpRequestMessage(HttpMethod.Post, "/api/sms/inbound") { Content = new StringContent("Body=a&Body=b", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded") };
        using var twiceAnswer = await client.SendAsync(twice);
        Assert.Equal(HttpStatusCode.BadRequest, twiceAnswer.StatusCode);
    }

    [Fact]
    public async Task Pin_Api_PolicyEnforcedAndStoredOnlyAsAHash()
    {
        var coord = await H.Lj_.Client("coord2-cn01");
        using var weak = await coord.PutAsJsonAsync("/api/sms/pin", new { pin = "1234" });
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        using var anonymous = await H.App.CreateClient().PutAsJsonAsync("/api/sms/pin", new { pin = "97531" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        var row = (await (await H.TableAsync()).GetRowAsync(IwrsTable.SystemPartition, SmsRows.PinPrefix + "coord2-cn01"))!;
        Assert.Equal(100_000, row.GetInt32("Iterations"));
        Assert.Equal(32, row.GetBinary("Hash")!.Length);
        Assert.Equal(16, row.GetBinary("Salt")!.Length);
        Assert.DoesNotContain(((IDictionary<string, object>)row).Values, v => v is string s && s.Contains(Pin, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OptOut_StopThenNoNotificationsAndEachSkipRecorded_StartResumes()
    {
        var sent = H.Twilio.Delivered.Count;

        // Only what is queued from here on: other tests of this fixture texted the depot before.
        var before = (await OutboxRecords(Lj)).Select(r => r.Notification.Id).ToHashSet(StringComparer.Ordinal);
        Assert.Null((await H.Sms(SmsWebhookFixture.LjDepot, "STOP")).Reply);
        var shipment = await H.Lj_.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 1, ["PBO-CAPS"] = 1 } });
        var dispatch = H.App.Services.GetRequiredService<NotificationDispatch>();
        await dispatch.RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, H.Clock.GetUtcNow(), false), CancellationToken.None);

        Assert.DoesNotContain(H.Twilio.Delivered.Skip(sent), m => m.To == SmsWebhookFixture.LjDepot);
        var skipped = (await OutboxRecords(Lj)).Where(r => r.Notification.RecipientUserId == "depot" && !before.Contains(r.Notification.Id)).ToList();
        Assert.NotEmpty(skipped);
        Assert.All(skipped, r => Assert.Equal((DeliveryStatus.Failed, NotificationDispatch.OptedOutCode), (r.Status, r.ErrorCode)));

        Assert.Null((await H.Sms(SmsWebhookFixture.LjDepot, "start")).Reply);
        await H.Lj_.Ok("depot", HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/dispatch");
        await H.Lj_.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 1, ["PBO-CAPS"] = 1 } });
        await dispatch.RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, H.Clock.GetUtcNow(), false), CancellationToken.None);
        Assert.Contains(H.Twilio.Delivered.Skip(sent), m => m.To == SmsWebhookFixture.LjDepot);
    }

    [Fact]
    public async Task StatusCallback_SignedReportsMoveTheDeliveryStateForwardOnly()
    {
        await H.Lj_.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 1, ["PBO-CAPS"] = 1 } });
        await H.App.Services.GetRequiredService<NotificationDispatch>().RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, H.Clock.GetUtcNow(), false), CancellationToken.None);

        // The send asked for reports at the status URL, naming the message.
        var sent = (await OutboxRecords(Lj)).Where(r => r.Status == DeliveryStatus.Sent).OrderByDescending(r => r.SentAt).First();
        var request = H.Twilio.Requests.Last(r => r.Form.GetValueOrDefault("Body") == sent.Notification.Body);
        var callback = request.Form["StatusCallback"];
        Assert.Equal($"{SmsHarness.StatusUrl}?partition={Lj}&id={sent.Notification.Id}", callback);
        var path = "/api/sms/status" + callback[SmsHarness.StatusUrl.Length..];

        async Task<HttpStatusCode> Report(string status, bool sign = true)
        {
            var form = new Dictionary<string, string> { ["MessageSid"] = sent.ProviderMessageId!, ["MessageStatus"] = status, ["AccountSid"] = FakeTwilioServer.AccountSid };
            return (await SmsHarness.Post(H.App, path, form, sign ? callback : null)).Status;
        }

        Assert.Equal(HttpStatusCode.NoContent, await Report("sent"));
        Assert.Equal(HttpStatusCode.NoContent, await Report("delivered"));
        Assert.Equal(HttpStatusCode.NoContent, await Report("sent"));
        Assert.Equal(HttpStatusCode.Forbidden, await Report("failed", sign: false));
        var state = await DeliveryReportRows.GetAsync(await H.TableAsync(), Lj, sent.Notification.Id, CancellationToken.None);
        Assert.Equal((Iwrs.Domain.Sms.DeliveryState.Delivered, sent.ProviderMessageId), (state!.State, state.ProviderMessageId));

        // Another message's sid, or a message that does not exist: refused, not recorded.
        var wrong = new Dictionary<string, string> { ["MessageSid"] = SmsHarness.NewSid(), ["MessageStatus"] = "failed" };
        Assert.Equal(HttpStatusCode.NotFound, (await SmsHarness.Post(H.App, path, wrong, callback)).Status);
    }

    [Fact]
    public async Task Messages_StudyManager_SeesRolesStatesAndTimes_NeverABodyOrANumber()
    {
        await H.Lj_.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 1, ["PBO-CAPS"] = 1 } });
        await H.App.Services.GetRequiredService<NotificationDispatch>().RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, H.Clock.GetUtcNow(), false), CancellationToken.None);
        var sent = (await OutboxRecords(Lj)).Where(r => r.Status == DeliveryStatus.Sent).OrderByDescending(r => r.SentAt).First();
        var callback = $"{SmsHarness.StatusUrl}?partition={Lj}&id={sent.Notification.Id}";
        var report = new Dictionary<string, string> { ["MessageSid"] = sent.ProviderMessageId!, ["MessageStatus"] = "delivered", ["AccountSid"] = FakeTwilioServer.AccountSid };
        Assert.Equal(HttpStatusCode.NoContent, (await SmsHarness.Post(H.App, "/api/sms/status" + callback[SmsHarness.StatusUrl.Length..], report, callback)).Status);

        var (status, page) = await H.Lj_.Send("manager", HttpMethod.Get, "sms/messages");
        Assert.Equal(HttpStatusCode.OK, status);
        var messages = page.GetProperty("messages").EnumerateArray().ToList();
        var stored = await OutboxRecords(Lj);
        Assert.Equal(stored.Select(r => r.Notification.Id).Order(StringComparer.Ordinal), messages.Select(m => m.GetProperty("id").GetString()!));
        var shown = messages.Single(m => m.GetProperty("id").GetString() == sent.Notification.Id);
        Assert.Equal(("delivered", "sent", sent.Notification.RecipientRoleName, sent.ProviderMessageId), (
            shown.GetProperty("deliveryState").GetString(), shown.GetProperty("status").GetString(),
            shown.GetProperty("recipientRole").GetString(), shown.GetProperty("providerMessageId").GetString()));
        Assert.True(shown.GetProperty("sentAt").ValueKind == System.Text.Json.JsonValueKind.String);
        Assert.Contains(messages, m => m.GetProperty("recipientRole").GetString() == "depot-manager");

        // The study manager is blinded: the depot's texts name kit types, so no body and no number is shown.
        var raw = page.GetRawText();
        foreach (var text in stored.Select(r => r.Notification.Body).Concat(["LJ-CAPS", "PBO-CAPS", "+1555"]))
        {
            Assert.DoesNotContain(text, raw, StringComparison.Ordinal);
        }

        Assert.Contains(stored, r => r.Notification.Body.Contains("LJ-CAPS", StringComparison.Ordinal));
        await H.Lj_.Fails("coord-cn01", HttpMethod.Get, "sms/messages", null, HttpStatusCode.Forbidden, "not-authorized");
        await H.Lj_.Fails("manager", HttpMethod.Get, "sms/messages?after=a%7Cb", null, HttpStatusCode.BadRequest, "validation-failed");
        var rest = await H.Lj_.Ok("manager", HttpMethod.Get, $"sms/messages?after={messages[0].GetProperty("id").GetString()}");
        Assert.Equal(messages.Count - 1, rest.GetProperty("messages").GetArrayLength());
    }

    private async Task<List<OutboxRecord>> OutboxRecords(string partition)
    {
        var records = new List<OutboxRecord>();
        await foreach (var row in (await H.TableAsync()).QueryPrefixAsync(partition, Outbox.RecordPrefix))
        {
            records.Add(Outbox.FromEntity(row));
        }

        return records;
    }
}
