using Azure.Data.Tables;
using Iwrs.Domain.Notifications;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Functions.Tests.Sms;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Notifications;

/// <summary>
/// Notices already queued when things change: the recipient's role is checked again at sending, and a record written
/// before notices stopped carrying a number goes to the recipient's verified phone, not the number it carries. (Found
/// by an independent review; the first test failed before the dispatcher checked roles at sending.)
/// </summary>
public sealed class QueuedNoticeTests : IAsyncLifetime
{
    private const string Lj = SmsHarness.Lj;
    private const string DepotPhone = "+15550500001";
    private const string Depot2Phone = "+15550500002";
    private const string ManagerPhone = "+15550500009";

    private SmsHarness _h = null!;

    public async Task InitializeAsync() =>
        _h = await SmsHarness.StartAsync(
        [
            (Lj, "depot", "depot-manager", null, DepotPhone),
            (Lj, "depot2", "depot-manager", null, Depot2Phone),
            (Lj, "pharm", "pharmacist", "CN01", null),
            (Lj, "manager", "study-manager", null, ManagerPhone),
        ]);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private async Task DispatchAsync() =>
        await _h.App.Services.GetRequiredService<NotificationDispatch>().RunAsync(new TimerInvocation(NotificationDispatch.FunctionName, _h.Clock.GetUtcNow(), false), CancellationToken.None);

    /// <summary>
    /// A depot manager's pick list is queued; before the dispatcher sends it, the person's depot-manager role is revoked
    /// and they are made a blinded study manager of the same study. The pick list (kit types) still reaches their phone.
    /// </summary>
    [Fact]
    public async Task QueuedPickList_RecipientNoLongerDepotManagerAndNowBlinded_IsNotSent()
    {
        await _h.Lj_.ImportKits("depot", ["LJ-CAPS", "PBO-CAPS"], perType: 6);
        var sentBefore = _h.Twilio.Delivered.Count;
        await _h.Lj_.Ok("depot", HttpMethod.Post, "shipments", new { siteId = "CN01", kits = new Dictionary<string, int> { ["LJ-CAPS"] = 2, ["PBO-CAPS"] = 2 } });

        await _h.Lj_.Ok(IwrsFactory.Admin, HttpMethod.Delete, "role-assignments/depot2/depot-manager");
        // A former depot manager is no longer granted a blinded role in the study (separation of duties remembers who
        // was unblinded); the row is written as one stored before that rule would be.
        await _h.Lj_.Fails(IwrsFactory.Admin, HttpMethod.Post, "role-assignments", new { userId = "depot2", role = "study-manager" }, System.Net.HttpStatusCode.Conflict, "role-conflict");
        await new StudyChange { RoleAssignmentStore.Insert(new Domain.Access.RoleAssignment("depot2", Domain.Access.Role.StudyManager, Lj, null), "legacy", DateTimeOffset.UnixEpoch) }
            .SubmitAsync(await _h.TableAsync(), CancellationToken.None);
        await DispatchAsync();

        var sent = _h.Twilio.Delivered.Skip(sentBefore).ToList();
        Assert.DoesNotContain(sent, m => m.To == Depot2Phone);
        Assert.Contains(sent, m => m.To == DepotPhone && m.Body.Contains("LJ-CAPS", StringComparison.Ordinal));
        var table = await _h.TableAsync();
        var toDepot2 = new List<OutboxRecord>();
        await foreach (var row in table.QueryPrefixAsync(Lj, Outbox.RecordPrefix))
        {
            if (Outbox.FromEntity(row) is { Notification.RecipientUserId: "depot2" } record)
            {
                toDepot2.Add(record);
            }
        }

        Assert.NotEmpty(toDepot2);
        Assert.All(toDepot2, r => Assert.Equal((DeliveryStatus.Failed, NotificationDispatch.RoleNotHeldCode), (r.Status, r.ErrorCode)));
    }

    /// <summary>
    /// The migration claim in Outbox.NumberOf: a record written before Address existed, with a grant's phone in To,
    /// goes to the recipient's verified phone, not to To.
    /// </summary>
    [Fact]
    public async Task LegacyOutboxRecord_WithAGrantPhoneInTo_GoesToTheVerifiedPhoneOnly()
    {
        var table = await _h.TableAsync();
        var n = Notification.ToNumber("999999999999-0", "depot", ManagerPhone, "Iwrs LJ-MCRC: pick LJ-CAPS x1 [K1]", "shipment.created", Iwrs.Domain.Access.Role.DepotManager).Value;
        var actions = new StudyChange();
        Outbox.Add(actions, Lj, n, _h.Clock.GetUtcNow());
        foreach (var a in actions)
        {
            ((TableEntity)a.Entity).Remove("Address");
        }

        await actions.SubmitAsync(table, CancellationToken.None);
        var sentBefore = _h.Twilio.Delivered.Count;
        await DispatchAsync();

        var sent = _h.Twilio.Delivered.Skip(sentBefore).ToList();
        Assert.DoesNotContain(sent, m => m.To == ManagerPhone);
        Assert.Contains(sent, m => m.To == DepotPhone && m.Body.Contains("K1", StringComparison.Ordinal));
    }
}
