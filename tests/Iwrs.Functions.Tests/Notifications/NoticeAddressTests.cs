using System.Net;
using Azure.Data.Tables;
using Iwrs.Domain.Access;
using Iwrs.Domain.Notifications;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Functions.Tests.Sms;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Notifications;

/// <summary>
/// Where a notice goes: only to the phone its recipient registered and verified themselves, looked up when it is sent.
/// The attack it closes: a blinded study manager wrote their own number on a depot manager's grant and received the
/// depot's pick lists, which name kit types. On Azurite, through the real API, the real dispatcher and a fake Twilio.
/// </summary>
public sealed class NoticeAddressTests : IAsyncLifetime
{
    private const string Lj = SmsHarness.Lj;
    private const string DepotPhone = "+15550400001";
    private const string ManagerPhone = "+15550400009";
    private const string CoordPhone = "+15550400005";

    private SmsHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await SmsHarness.StartAsync(
        [
            (Lj, "depot", "depot-manager", null, DepotPhone),
            (Lj, "depot2", "depot-manager", null, null),
            (Lj, "pharm", "pharmacist", "CN01", null),
            (Lj, "manager", "study-manager", null, ManagerPhone),
            (Lj, "coord", "site-coordinator", "CN01", CoordPhone),
        ]);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private async Task DispatchAsync() =>
        await _h.App.Services.GetRequiredService<NotificationDispatch>().RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, _h.Clock.GetUtcNow(), false), CancellationToken.None);

    private async Task<List<OutboxRecord>> StudyOutboxAsync()
    {
        var table = await _h.TableAsync();
        var records = new List<OutboxRecord>();
        await foreach (var row in table.QueryPrefixAsync(Lj, Outbox.RecordPrefix))
        {
            records.Add(Outbox.FromEntity(row));
        }

        return records;
    }

    /// <summary>Writes <paramref name="phone"/> on a grant's row, as versions that took a phone on a grant stored it.</summary>
    private async Task PutPhoneOnGrantAsync(string user, Role role, string? site, string phone)
    {
        var table = await _h.TableAsync();
        var assignment = new RoleAssignment(user, role, Lj, site);
        var row = (await table.GetEntityAsync<TableEntity>(RoleAssignmentStore.Partition(assignment), RoleAssignmentStore.RowKey(assignment))).Value;
        row["Phone"] = phone;
        await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
    }

    private async Task<int> CreateShipmentAsync()
    {
        var before = (await StudyOutboxAsync()).Count;
        var shipment = await _h.Lj_.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 2, ["PBO-CAPS"] = 2 } });
        await _h.Lj_.Ok("depot", HttpMethod.Post, $"shipments/{shipment.GetProperty("shipmentId").GetString()}/dispatch");
        return before;
    }

    [Fact]
    public async Task Grant_WithAPhone_IsRefusedWhoeverAsks()
    {
        foreach (var user in new[] { "manager", IwrsFactory.Admin })
        {
            var (status, problem) = await _h.Lj_.Send(user, HttpMethod.Post, "role-assignments", new { userId = "depot3", role = "depot-manager", phone = ManagerPhone });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("phone", problem.GetProperty("errors")[0].GetProperty("field").GetString());
        }

        var roles = await _h.Lj_.Ok(IwrsFactory.Admin, HttpMethod.Get, "role-assignments");
        Assert.DoesNotContain(roles.EnumerateArray(), a => a.GetProperty("userId").GetString() == "depot3");
        Assert.DoesNotContain(ManagerPhone, roles.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PickList_GoesToTheDepotManagersVerifiedPhone_NeverToAPhoneOnAGrant()
    {
        // Rows as an earlier version stored them: the manager's own number on a depot manager's and a pharmacist's grant.
        await PutPhoneOnGrantAsync("depot2", Role.DepotManager, null, ManagerPhone);
        await PutPhoneOnGrantAsync("pharm", Role.Pharmacist, "CN01", ManagerPhone);
        await _h.Lj_.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 6);
        var sentBefore = _h.Twilio.Delivered.Count;

        var queuedBefore = await CreateShipmentAsync();
        await DispatchAsync();

        var sent = _h.Twilio.Delivered.Skip(sentBefore).ToList();
        Assert.DoesNotContain(sent, m => m.To == ManagerPhone);
        var pickLists = sent.Where(m => m.To == DepotPhone).ToList();
        Assert.NotEmpty(pickLists);
        Assert.Contains(pickLists, m => m.Body.Contains("LJ-CAPS", StringComparison.Ordinal));
        Assert.All(sent, m => Assert.Equal(DepotPhone, m.To));

        // The notices to holders with no verified phone are queued, and each skip is recorded on its message.
        var records = (await StudyOutboxAsync()).Skip(queuedBefore).ToList();
        var skipped = records.Where(r => r.Notification.RecipientUserId is "depot2" or "pharm").ToList();
        Assert.NotEmpty(skipped);
        Assert.All(skipped, r =>
        {
            Assert.Null(r.Notification.To);
            Assert.Equal(DeliveryStatus.Failed, r.Status);
            Assert.Equal(NotificationDispatch.NoVerifiedPhoneCode, r.ErrorCode);
        });
        Assert.All(records.Where(r => r.Notification.RecipientUserId == "depot"), r => Assert.Equal(DeliveryStatus.Sent, r.Status));
    }

    [Fact]
    public async Task RemovedPhone_ByAnAdministrator_GetsNoNoticeQueuedBefore_AndActsAsNobody_Audited()
    {
        await _h.Lj_.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 6);
        var sentBefore = _h.Twilio.Delivered.Count;
        var queuedBefore = await CreateShipmentAsync();

        // The depot manager's phone is lost. Their study manager may not remove it (the depot's notices go there); an
        // administrator does, before the notices already queued are sent.
        var (status, problem) = await _h.Lj_.Send("manager", HttpMethod.Delete, "sms/users/depot/phone");
        Assert.Equal((HttpStatusCode.Forbidden, "not-authorized"), (status, problem.GetProperty("code").GetString()));
        var standing = await _h.Lj_.Ok(IwrsFactory.Admin, HttpMethod.Delete, "sms/users/depot/phone");
        Assert.False(standing.GetProperty("phoneVerified").GetBoolean());
        await DispatchAsync();

        Assert.DoesNotContain(_h.Twilio.Delivered.Skip(sentBefore), m => m.To == DepotPhone);
        var depotRecords = (await StudyOutboxAsync()).Skip(queuedBefore).Where(r => r.Notification.RecipientUserId == "depot").ToList();
        Assert.NotEmpty(depotRecords);
        Assert.All(depotRecords, r => Assert.Equal(NotificationDispatch.NoVerifiedPhoneCode, r.ErrorCode));
        Assert.Equal("Iwrs: this number is not registered for SMS. Ask your study manager.", await _h.Reply(DepotPhone, $"STATUS {Lj} S-001 {SmsHarness.Pin}"));

        var removal = (await _h.AuditAsync(IwrsTable.SystemPartition)).Last(r => r.Action == "sms.phone-removed");
        Assert.Equal((IwrsFactory.Admin, "administrator", "user:depot"), (removal.UserId, removal.Role, removal.Target));
    }

    [Fact]
    public async Task RemovedPhone_OfSiteStaff_ByTheirStudyManager_ActsAsNobody_Audited()
    {
        var standing = await _h.Lj_.Ok("manager", HttpMethod.Delete, "sms/users/coord/phone");

        Assert.False(standing.GetProperty("phoneVerified").GetBoolean());
        Assert.Equal("Iwrs: this number is not registered for SMS. Ask your study manager.", await _h.Reply(CoordPhone, $"STATUS {Lj} S-001 {SmsHarness.Pin}"));
        var removal = (await _h.AuditAsync(IwrsTable.SystemPartition)).Last(r => r.Action == "sms.phone-removed");
        Assert.Equal(("manager", "study-manager", "user:coord"), (removal.UserId, removal.Role, removal.Target));
        Assert.Contains(removal.Changes, c => c.Field == "phone" && c.Before == CoordPhone && c.After is null);
    }

    [Fact]
    public async Task RemovePhone_OfAUserWhoAlsoWorksInAStudyTheManagerDoesNotManage_IsRefused()
    {
        await _h.App.Grant(SmsHarness.Akk, "coord", "site-coordinator", "CN01");

        var (status, problem) = await _h.Lj_.Send("manager", HttpMethod.Delete, "sms/users/coord/phone");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("not-authorized", problem.GetProperty("code").GetString());
        Assert.Contains("study you do not manage", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var asAdmin = await _h.Lj_.Ok(IwrsFactory.Admin, HttpMethod.Get, "sms/users/coord");
        Assert.True(asAdmin.GetProperty("phoneVerified").GetBoolean());
    }
}
