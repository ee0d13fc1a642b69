using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Sms;

/// <summary>
/// Phone identity: a phone acts as a user only once that user registered it through the API and typed back the code
/// texted to it. A phone on a role grant, set by whoever granted, acts as nobody; a verified phone is never taken by
/// another user; codes work once, expire, void after five wrong tries; every step is audited.
/// </summary>
public sealed class SmsPhoneTests : IAsyncLifetime
{
    private const string Lj = SmsHarness.Lj;
    private const string Pin = SmsHarness.Pin;
    private const string VictimPhone = "+15550300001";
    private const string ManagerPhone = "+15550300009";

    private SmsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await SmsHarness.StartAsync(
        [
            (Lj, "manager", "study-manager", null, null),
            (Lj, "victim", "site-coordinator", "CN01", VictimPhone),
            (Lj, "other", "site-coordinator", "CN02", null),
            (Lj, "third", "pharmacist", "CN02", null),
        ]);
        await _h.SetPin("other", Pin);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private async Task<HttpClient> Client(string user) => await _h.Lj_.Client(user);

    private async Task<(HttpStatusCode Status, System.Text.Json.JsonElement Body)> Send(string user, HttpMethod method, string path, object? body = null) =>
        await _h.Lj_.Send(user, method, path, body);

    private async Task<List<string>> SystemActions(string user) =>
        [.. (await _h.AuditAsync(IwrsTable.SystemPartition)).Where(r => r.Target == $"user:{user}").Select(r => r.Action)];

    [Fact]
    public async Task GrantPhone_ManagersOwnNumberOnAUsersGrant_IsRefusedActsAsNobodyAndCannotLockTheUser()
    {
        // The attack: a manager grants the victim another role with the manager's own phone on it, then sends wrong PINs from it.
        var (status, problem) = await Send("manager", HttpMethod.Post, "role-assignments", new { userId = "victim", role = "pharmacist", siteId = "CN01", phone = ManagerPhone });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("validation-failed", problem.GetProperty("code").GetString());
        Assert.Equal("phone", problem.GetProperty("errors")[0].GetProperty("field").GetString());
        await _h.App.Grant(Lj, "victim", "pharmacist", "CN01");
        for (var i = 1; i <= 6; i++)
        {
            Assert.Equal("Iwrs: this number is not registered for SMS. Ask your study manager.", await _h.Reply(ManagerPhone, $"STATUS {Lj} S-001 {1350 + i}"));
        }

        var victim = await _h.Lj_.Ok("manager", HttpMethod.Get, "sms/users/victim");
        Assert.Equal(0, victim.GetProperty("failures").GetInt32());
        Assert.False(victim.GetProperty("locked").GetBoolean());
        Assert.DoesNotContain("sms.pin-failed", await SystemActions("victim"));

        // The victim's own verified phone still works as them.
        Assert.StartsWith("Iwrs: not done (subject-not-found)", await _h.Reply(VictimPhone, $"STATUS {Lj} S-001 {Pin}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_ByAUserWithNoRole_403NoCodeSent()
    {
        var sent = _h.Twilio.Delivered.Count;
        var (status, body) = await Send("nobody", HttpMethod.Put, "/api/sms/phone", new { phone = "+15550300077" });

        Assert.Equal((HttpStatusCode.Forbidden, "not-authorized"), (status, body.GetProperty("code").GetString()));
        await _h.App.Services.GetRequiredService<Iwrs.Functions.Notifications.NotificationDispatch>().RunAsync(new TimerInvocation(Iwrs.Functions.Notifications.NotificationDispatch.FunctionName, _h.Clock.GetUtcNow(), false), CancellationToken.None);
        Assert.Equal(sent, _h.Twilio.Delivered.Count);
        Assert.DoesNotContain("sms.phone-code-sent", await SystemActions("nobody"));
    }

    [Fact]
    public async Task Register_AnotherUsersVerifiedPhone_RefusedNoCodeSentAndOwnerKept()
    {
        var sent = _h.Twilio.Delivered.Count;
        var (status, body) = await Send("other", HttpMethod.Put, "/api/sms/phone", new { phone = VictimPhone });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("sms-phone-taken", body.GetProperty("code").GetString());

        await _h.App.Services.GetRequiredService<Iwrs.Functions.Notifications.NotificationDispatch>().RunAsync(
            new TimerInvocation("NotificationDispatch", _h.Clock.GetUtcNow(), false), CancellationToken.None);
        Assert.Equal(sent, _h.Twilio.Delivered.Count);
        Assert.Equal("victim", await SmsRows.GetOwnerAsync(await _h.TableAsync(), VictimPhone, CancellationToken.None));
        Assert.DoesNotContain("Iwrs: this number is not registered", await _h.Reply(VictimPhone, "HELP"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_TwoUsersRegisterOneNumber_OnlyTheFirstToTypeTheirCodeOwnsIt()
    {
        const string shared = "+15550300100";
        var other = await Client("other");
        var third = await Client("third");
        Assert.Equal(HttpStatusCode.Accepted, (await other.PutAsJsonAsync("/api/sms/phone", new { phone = shared })).StatusCode);
        var otherCode = await SmsHarness.CodeSentTo(_h.App, _h.Twilio, shared);
        Assert.Equal(HttpStatusCode.Accepted, (await third.PutAsJsonAsync("/api/sms/phone", new { phone = shared })).StatusCode);
        var thirdCode = await SmsHarness.CodeSentTo(_h.App, _h.Twilio, shared);

        Assert.Equal(HttpStatusCode.OK, (await other.PostAsJsonAsync("/api/sms/phone/verify", new { code = otherCode })).StatusCode);
        var (status, body) = await Send("third", HttpMethod.Post, "/api/sms/phone/verify", new { code = thirdCode });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("sms-phone-taken", body.GetProperty("code").GetString());
        Assert.Equal("other", await SmsRows.GetOwnerAsync(await _h.TableAsync(), shared, CancellationToken.None));
        Assert.StartsWith("Iwrs: not done (subject-not-found)", await _h.Reply(shared, $"STATUS {Lj} S-404 {Pin}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Codes_WrongFiveTimes_VoidThenTheRightCodeDoesNothing_EveryStepAudited()
    {
        const string phone = "+15550300200";
        Assert.Equal(HttpStatusCode.Accepted, (await Send("third", HttpMethod.Put, "/api/sms/phone", new { phone })).Status);
        var code = await SmsHarness.CodeSentTo(_h.App, _h.Twilio, phone);
        var wrong = code == "000000" ? "000001" : "000000";
        for (var left = 4; left >= 1; left--)
        {
            var (status, body) = await Send("third", HttpMethod.Post, "/api/sms/phone/verify", new { code = wrong });
            Assert.Equal((HttpStatusCode.BadRequest, "sms-phone-code-wrong"), (status, body.GetProperty("code").GetString()));
            Assert.Contains($"{left} tries left", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var fifth = await Send("third", HttpMethod.Post, "/api/sms/phone/verify", new { code = wrong });
        Assert.Equal("sms-phone-code-void", fifth.Body.GetProperty("code").GetString());
        var right = await Send("third", HttpMethod.Post, "/api/sms/phone/verify", new { code });
        Assert.Equal((HttpStatusCode.Conflict, "sms-phone-no-code"), (right.Status, right.Body.GetProperty("code").GetString()));
        Assert.Null(await SmsRows.GetOwnerAsync(await _h.TableAsync(), phone, CancellationToken.None));
        Assert.Equal("Iwrs: this number is not registered for SMS. Ask your study manager.", await _h.Reply(phone, "HELP"));
        Assert.Equal(
            ["sms.phone-code-sent", "sms.phone-code-failed", "sms.phone-code-failed", "sms.phone-code-failed", "sms.phone-code-failed", "sms.phone-code-voided"],
            await SystemActions("third"));
    }

    [Fact]
    public async Task Codes_AfterTenMinutes_ExpiredAndVoid_AndARightCodeWorksOnce()
    {
        const string phone = "+15550300300";
        var third = await Client("third");
        Assert.Equal(HttpStatusCode.Accepted, (await third.PutAsJsonAsync("/api/sms/phone", new { phone })).StatusCode);
        var late = await SmsHarness.CodeSentTo(_h.App, _h.Twilio, phone);
        _h.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var expired = await Send("third", HttpMethod.Post, "/api/sms/phone/verify", new { code = late });
        Assert.Equal((HttpStatusCode.BadRequest, "sms-phone-code-expired"), (expired.Status, expired.Body.GetProperty("code").GetString()));
        Assert.Null(await SmsRows.GetOwnerAsync(await _h.TableAsync(), phone, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Accepted, (await third.PutAsJsonAsync("/api/sms/phone", new { phone })).StatusCode);
        var code = await SmsHarness.CodeSentTo(_h.App, _h.Twilio, phone);
        var verified = await _h.Lj_.Ok("third", HttpMethod.Post, "/api/sms/phone/verify", new { code });
        Assert.Equal(phone, verified.GetProperty("phone").GetString());
        var again = await Send("third", HttpMethod.Post, "/api/sms/phone/verify", new { code });
        Assert.Equal("sms-phone-no-code", again.Body.GetProperty("code").GetString());
        Assert.Equal(["sms.phone-code-sent", "sms.phone-code-expired", "sms.phone-code-sent", "sms.phone-verified"], await SystemActions("third"));
    }

    [Fact]
    public async Task NewPhone_Verified_OldPhoneActsAsNobody_AndRemovedPhoneToo()
    {
        const string first = "+15550300400", second = "+15550300401";
        var other = await Client("other");
        await SmsHarness.RegisterPhone(_h.App, _h.Twilio, other, first);
        Assert.StartsWith("Iwrs: not done (subject-not-found)", await _h.Reply(first, $"STATUS {Lj} S-404 {Pin}"), StringComparison.Ordinal);

        await SmsHarness.RegisterPhone(_h.App, _h.Twilio, other, second);
        Assert.Equal("Iwrs: this number is not registered for SMS. Ask your study manager.", await _h.Reply(first, $"STATUS {Lj} S-404 {Pin}"));
        Assert.StartsWith("Iwrs: not done (subject-not-found)", await _h.Reply(second, $"STATUS {Lj} S-404 {Pin}"), StringComparison.Ordinal);
        Assert.Null(await SmsRows.GetOwnerAsync(await _h.TableAsync(), first, CancellationToken.None));

        Assert.True((await other.DeleteAsync("/api/sms/phone")).IsSuccessStatusCode);
        Assert.Equal("Iwrs: this number is not registered for SMS. Ask your study manager.", await _h.Reply(second, $"STATUS {Lj} S-404 {Pin}"));
        Assert.Contains("sms.phone-removed", await SystemActions("other"));
    }

    [Fact]
    public async Task Register_SixthCodeInADay_Refused_BadNumber400()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await Send("third", HttpMethod.Put, "/api/sms/phone", new { phone = $"+1555030050{i}" })).Status);
        }

        var sixth = await Send("third", HttpMethod.Put, "/api/sms/phone", new { phone = "+15550300509" });
        Assert.Equal((HttpStatusCode.Conflict, "sms-phone-codes-exhausted"), (sixth.Status, sixth.Body.GetProperty("code").GetString()));
        var bad = await Send("third", HttpMethod.Put, "/api/sms/phone", new { phone = "0800 123" });
        Assert.Equal((HttpStatusCode.BadRequest, "validation-failed"), (bad.Status, bad.Body.GetProperty("code").GetString()));
        _h.Clock.Advance(TimeSpan.FromHours(24));
        Assert.Equal(HttpStatusCode.Accepted, (await Send("third", HttpMethod.Put, "/api/sms/phone", new { phone = "+15550300509" })).Status);
    }
}

/// <summary>
/// An inbound SMS finds its sender by the phone's owner row and the owner's study index: the same storage requests
/// with 2 studies in the table as with 8, and not one read of them a query across partitions (the scan it replaced).
/// </summary>
public sealed class SmsPhoneIndexTests : IAsyncLifetime
{
    private const string Phone = "+15550300900";
    private readonly List<Uri> _requests = [];
    private readonly object _gate = new();
    private bool _recording;
    private SmsHarness _h = null!;

    public async Task InitializeAsync() =>
        _h = await SmsHarness.StartAsync(
            [(SmsHarness.Lj, "coord", "site-coordinator", "CN01", Phone)],
            services: s => s.AddHttpClient(StorageSetup.HttpClientName).AddHttpMessageHandler(() => new Recorder(this)));

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Inbound_2And8StudiesInTheTable_SameRequestsAndNoCrossPartitionQuery()
    {
        var small = await Recorded($"STATUS {SmsHarness.Lj} S-404 {SmsHarness.Pin}");
        var smallHelp = await Recorded("HELP");

        for (var i = 1; i <= 6; i++)
        {
            var study = JsonNode.Parse(IwrsFactory.StudyFile("akk-mcrc.json"))!;
            study["studyId"] = $"EXTRA-{i}";
            await _h.Lj_.Ok(IwrsFactory.Admin, HttpMethod.Put, $"/api/studies/EXTRA-{i}", study);
        }

        var large = await Recorded($"STATUS {SmsHarness.Lj} S-404 {SmsHarness.Pin}");
        var largeHelp = await Recorded("HELP");

        Assert.Equal(small.Count, large.Count);
        Assert.Equal(smallHelp.Count, largeHelp.Count);
        foreach (var uri in large.Concat(largeHelp))
        {
            var text = Uri.UnescapeDataString(uri.PathAndQuery);
            // A point read names its partition in the path, a range read in its filter; the scan's filter was on RowKey alone.
            Assert.True(text.Contains("(PartitionKey='", StringComparison.Ordinal) || text.Contains("$filter=PartitionKey eq '", StringComparison.Ordinal), $"a read across partitions: {text}");
        }
    }

    private async Task<List<Uri>> Recorded(string text)
    {
        lock (_gate)
        {
            _requests.Clear();
            _recording = true;
        }

        Assert.NotEqual("Iwrs: this number is not registered for SMS. Ask your study manager.", await _h.Reply(Phone, text));
        lock (_gate)
        {
            _recording = false;
            return [.. _requests];
        }
    }

    private sealed class Recorder(SmsPhoneIndexTests test) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (test._gate)
            {
                if (test._recording && request.Method == HttpMethod.Get && request.RequestUri is { } uri)
                {
                    test._requests.Add(uri);
                }
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
