using System.Net;
using Iwrs.Domain.Notifications;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;
using Iwrs.LocalHost;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Moq;
using static Iwrs.Functions.Tests.Notifications.NotificationHarness;

namespace Iwrs.Functions.Tests.Notifications;

/// <summary>The outbox dispatcher in the real app, on Azurite, against the fake Twilio.</summary>
public sealed class NotificationDispatchTests
{
    [Fact]
    public async Task Run_TwilioAccepts_EachMessageDeliveredOnceAndMarkedSentWithItsSid()
    {
        await using var h = await StartAsync();
        var lj = new[] { Message(1), Message(2) };
        var akk = Message(3);
        var system = Message(4);
        await h.EnqueueAsync(Study, lj);
        await h.EnqueueAsync(OtherStudy, akk);
        await h.EnqueueAsync(IwrsTable.SystemPartition, system);

        var lines = await h.RunAsync();

        Assert.Equal("sent 4, retry 0, failed 0", lines[0]);
        Assert.Single(lines);
        var delivered = h.Twilio.Delivered;
        Assert.Equal(4, delivered.Count);
        foreach (var (partition, n) in lj.Select(n => (Study, n)).Append((OtherStudy, akk)).Append((IwrsTable.SystemPartition, system)))
        {
            var sms = Assert.Single(delivered, d => d.To == n.To);
            Assert.Equal(n.Body, sms.Body);
            Assert.Equal(FakeTwilioServer.FromNumber, sms.From);
            var record = await h.RecordAsync(partition, n);
            Assert.Equal(DeliveryStatus.Sent, record.Status);
            Assert.Equal(sms.Sid, record.ProviderMessageId);
            Assert.StartsWith("SM", record.ProviderMessageId, StringComparison.Ordinal);
            Assert.Equal("twilio", record.Provider);
            Assert.Equal(1, record.Attempts);
            Assert.Equal(h.Now, record.SentAt);
            Assert.Null(record.LastError);
            Assert.Empty(await h.DueRowsAsync(partition));
        }

        h.Clock.Advance(TimeSpan.FromHours(3));
        Assert.Equal("sent 0, retry 0, failed 0", (await h.RunAsync())[0]);
        Assert.Equal(4, h.Twilio.Delivered.Count);
        Assert.Equal(4, h.Twilio.Requests.Count);
    }

    [Fact]
    public async Task Run_TwilioFailsThenRateLimitsThenHangs_MessagesStayPendingUntilItRecoversThenGoOutOnce()
    {
        await using var h = await StartAsync();
        var messages = new[] { Message(1), Message(2) };
        await h.EnqueueAsync(Study, messages);

        // 500: retried twice inside the call (3 requests per message), then left for a later run.
        h.Twilio.Mode = FakeTwilioMode.Fail500;
        Assert.Equal("sent 0, retry 2, failed 0", (await h.RunAsync())[0]);
        Assert.Equal(6, h.Twilio.Requests.Count);
        await AssertAllPending(h, messages, attempts: 1, errorContains: "500");

        // Nothing is due before the backoff has passed.
        Assert.Equal("sent 0, retry 0, failed 0", (await h.RunAsync())[0]);
        Assert.Equal(6, h.Twilio.Requests.Count);

        // 429: not retried inside the call; its Retry-After (120 s) outweighs the 1-minute backoff.
        h.Clock.Advance(TimeSpan.FromHours(1));
        h.Twilio.Mode = FakeTwilioMode.TooMany429;
        Assert.Equal("sent 0, retry 2, failed 0", (await h.RunAsync())[0]);
        Assert.Equal(8, h.Twilio.Requests.Count);
        await AssertAllPending(h, messages, attempts: 2, errorContains: "429");
        foreach (var n in messages)
        {
            var record = await h.RecordAsync(Study, n);
            Assert.Equal(h.Now + TimeSpan.FromSeconds(120), record.NextAttemptAt);
        }

        // Hang: each request is given up after the per-try timeout, which the test's clock decides.
        h.Clock.Advance(TimeSpan.FromHours(1));
        h.Twilio.Mode = FakeTwilioMode.Hang;
        var run = h.RunAsync();
        for (var i = 0; i < messages.Length; i++)
        {
            var abandoned = i;
            await FakeTwilioServer.WaitForAsync(
                () => h.Twilio.Hanging == 1 && h.Twilio.Requests.Count(r => r.Status == 0) == abandoned, $"hanging request {abandoned + 1}");
            Assert.False(run.IsCompleted);
            h.Clock.Advance(RequestTimeout);
        }

        Assert.Equal("sent 0, retry 2, failed 0", (await run)[0]);
        Assert.Equal(10, h.Twilio.Requests.Count);
        await AssertAllPending(h, messages, attempts: 3, errorContains: "did not answer");
        Assert.Empty(h.Twilio.Delivered);

        h.Clock.Advance(TimeSpan.FromHours(1));
        h.Twilio.Mode = FakeTwilioMode.Ok;
        Assert.Equal("sent 2, retry 0, failed 0", (await h.RunAsync())[0]);
        h.Clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal("sent 0, retry 0, failed 0", (await h.RunAsync())[0]);

        Assert.Equal(messages.Select(m => m.To).Order(), h.Twilio.Delivered.Select(d => d.To).Order());
        foreach (var n in messages)
        {
            var record = await h.RecordAsync(Study, n);
            Assert.Equal(DeliveryStatus.Sent, record.Status);
            Assert.Equal(4, record.Attempts);
            Assert.Equal(h.Twilio.Delivered.Single(d => d.To == n.To).Sid, record.ProviderMessageId);
        }

        Assert.Empty(await h.DueRowsAsync(Study));
    }

    private static async Task AssertAllPending(NotificationHarness h, Notification[] messages, int attempts, string errorContains)
    {
        Assert.Empty(h.Twilio.Delivered);
        var due = await h.DueRowsAsync(Study);
        foreach (var n in messages)
        {
            var record = await h.RecordAsync(Study, n);
            Assert.Equal(DeliveryStatus.Pending, record.Status);
            Assert.Equal(attempts, record.Attempts);
            Assert.Null(record.ProviderMessageId);
            Assert.Null(record.SentAt);
            Assert.Contains(errorContains, record.LastError, StringComparison.Ordinal);

            // Exactly one due row per pending message, at its next attempt.
            var row = Assert.Single(due, r => r.GetString("NotificationId") == n.Id);
            Assert.Equal(Outbox.DueKey(record.NextAttemptAt!.Value, n.Id), row.RowKey);
            Assert.True(record.NextAttemptAt > h.Now, "the retry is in the future");
            Assert.True(record.NextAttemptAt <= h.Now + TimeSpan.FromHours(1), "the backoff is at most an hour");
        }

        Assert.Equal(messages.Length, due.Count);
    }

    [Fact]
    public async Task Run_TwilioRejects_MarkedFailedAndNeverRetried()
    {
        await using var h = await StartAsync();
        var n = Message(1);
        await h.EnqueueAsync(Study, n);
        h.Twilio.Mode = FakeTwilioMode.Reject400;

        Assert.Equal("sent 0, retry 0, failed 1", (await h.RunAsync())[0]);

        var record = await h.RecordAsync(Study, n);
        Assert.Equal(DeliveryStatus.Failed, record.Status);
        Assert.Equal("21211", record.ErrorCode);
        Assert.Contains("not a valid phone number", record.LastError, StringComparison.Ordinal);
        Assert.Equal(1, record.Attempts);
        Assert.Equal(h.Now, record.FailedAt);
        Assert.Empty(await h.DueRowsAsync(Study));

        h.Twilio.Mode = FakeTwilioMode.Ok;
        h.Clock.Advance(TimeSpan.FromDays(2));
        Assert.Equal("sent 0, retry 0, failed 0", (await h.RunAsync())[0]);
        Assert.Single(h.Twilio.Requests);
        Assert.Empty(h.Twilio.Delivered);
    }

    [Fact]
    public async Task Run_StillFailingAtMaxAttempts_GivesUp()
    {
        await using var h = await StartAsync(settings: new() { ["Notifications:MaxAttempts"] = "2" });
        var n = Message(1);
        await h.EnqueueAsync(Study, n);
        h.Twilio.Mode = FakeTwilioMode.Fail500;

        Assert.Equal("sent 0, retry 1, failed 0", (await h.RunAsync())[0]);
        h.Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal("sent 0, retry 0, failed 1", (await h.RunAsync())[0]);

        var record = await h.RecordAsync(Study, n);
        Assert.Equal(DeliveryStatus.Failed, record.Status);
        Assert.Equal("gave-up", record.ErrorCode);
        Assert.Equal(2, record.Attempts);
        Assert.Empty(await h.DueRowsAsync(Study));
    }

    [Fact]
    public async Task Run_ClaimWhoseRunDied_SentAgainOnlyAfterTheLeaseRunsOut()
    {
        await using var h = await StartAsync();
        var n = Message(1);
        await h.EnqueueAsync(Study, n);
        var table = await h.TableAsync();

        // A dispatcher claims the message and dies before recording anything.
        var due = Assert.Single(await Outbox.ReadDueAsync(table, Study, h.Now, 50, CancellationToken.None));
        var claim = await Outbox.TryClaimAsync(table, due, await h.RecordAsync(Study, n), h.Now, h.Now + TimeSpan.FromMinutes(2), CancellationToken.None);
        Assert.NotNull(claim);
        Assert.Equal(DeliveryStatus.Sending, (await h.RecordAsync(Study, n)).Status);

        // The claimed row is gone from the due range, so the same claim cannot be made twice.
        Assert.Null(await Outbox.TryClaimAsync(table, due, await h.RecordAsync(Study, n), h.Now, h.Now + TimeSpan.FromMinutes(2), CancellationToken.None));

        h.Clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal("sent 0, retry 0, failed 0", (await h.RunAsync())[0]);
        Assert.Empty(h.Twilio.Requests);

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("sent 1, retry 0, failed 0", (await h.RunAsync())[0]);
        Assert.Single(h.Twilio.Delivered);
        Assert.Equal(DeliveryStatus.Sent, (await h.RecordAsync(Study, n)).Status);
        Assert.Empty(await h.DueRowsAsync(Study));
    }

    [Fact]
    public async Task Run_MessagesItDidNotClaim_NeverReachTheSenderWhileTheClaimableOneIsSentOnce()
    {
        // The sender is the network edge; the mock stands in for Twilio so every call the dispatcher makes is counted.
        var sms = new Mock<ISmsSender>(MockBehavior.Strict);
        sms.SetupGet(s => s.Provider).Returns("mock");
        sms.Setup(s => s.SendAsync(It.IsAny<Notification>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync((Notification n, CancellationToken _) => new DeliveryOutcome.Sent("SM-" + n.Id));
        await using var h = await StartAsync(services: s => s.AddSingleton(sms.Object));
        var lease = h.App.Services.GetRequiredService<IOptions<NotificationOptions>>().Value.Lease;
        var table = await h.TableAsync();
        var sent = Message(1);
        var leased = Message(2);
        var due = Message(3);

        // Already sent: delivered by an earlier run, then a due row is left beside its final record.
        await h.EnqueueAsync(Study, sent);
        Assert.Equal("sent 1, retry 0, failed 0", (await h.RunAsync())[0]);
        Assert.Equal(DeliveryStatus.Sent, (await h.RecordAsync(Study, sent)).Status);
        await table.AddEntityAsync(new TableEntity(Study, Outbox.DueKey(h.Now, sent.Id)) { ["NotificationId"] = sent.Id, ["DueAt"] = h.Now });

        // Claimed by another app instance whose lease has not run out.
        await h.EnqueueAsync(Study, leased);
        var leasedRow = Assert.Single(await Outbox.ReadDueAsync(table, Study, h.Now, 50, CancellationToken.None), r => r.NotificationId == leased.Id);
        Assert.NotNull(await Outbox.TryClaimAsync(table, leasedRow, await h.RecordAsync(Study, leased), h.Now, h.Now + lease, CancellationToken.None));

        // Claimable and due: the positive control.
        await h.EnqueueAsync(Study, due);
        h.Clock.Advance(lease - TimeSpan.FromMilliseconds(1));

        var lines = await h.RunAsync();

        Assert.Equal(["sent 1, retry 0, failed 0", "skipped 0 (claimed by another run), errors 0, stale due rows removed 1"], lines);
        sms.Verify(s => s.SendAsync(It.Is<Notification>(n => n.Id == due.Id), It.IsAny<CancellationToken>()), Times.Once);
        sms.Verify(s => s.SendAsync(It.Is<Notification>(n => n.Id == leased.Id), It.IsAny<CancellationToken>()), Times.Never);
        sms.Verify(s => s.SendAsync(It.Is<Notification>(n => n.Id == sent.Id), It.IsAny<CancellationToken>()), Times.Once, "only by the first run");
        sms.Verify(s => s.SendAsync(It.IsAny<Notification>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
        Assert.Equal(DeliveryStatus.Sending, (await h.RecordAsync(Study, leased)).Status);
        Assert.Equal("SM-" + due.Id, (await h.RecordAsync(Study, due)).ProviderMessageId);
        Assert.Empty(h.Twilio.Requests);

        // Once the other instance's lease runs out the message is this dispatcher's to send: it was held back by the lease alone.
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("sent 1, retry 0, failed 0", (await h.RunAsync())[0]);
        sms.Verify(s => s.SendAsync(It.Is<Notification>(n => n.Id == leased.Id), It.IsAny<CancellationToken>()), Times.Once);
        sms.Verify(s => s.SendAsync(It.IsAny<Notification>(), It.IsAny<CancellationToken>()), Times.Exactly(3));
        Assert.Empty(await h.DueRowsAsync(Study));
    }

    [Fact]
    public async Task Run_TwoAppInstancesAtOnce_EveryMessageDeliveredExactlyOnce()
    {
        await using var h = await StartAsync(manualClock: false);
        await using var second = new IwrsFactory(tableName: h.App.TableName, settings: AppSettings(h.Twilio));
        var messages = Enumerable.Range(1, 45).Select(i => Message(i)).ToArray();
        await h.EnqueueAsync(Study, messages);
        var others = Enumerable.Range(1, 15).Select(i => Message(i, "akk")).ToArray();
        await h.EnqueueAsync(OtherStudy, others);
        var dispatchers = new[] { h.Dispatcher, Dispatch(second) };

        var sent = 0;
        for (var round = 0; round < 3; round++)
        {
            var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
                Task.Run(() => dispatchers[i % 2].RunAsync(new TimerInvocation("NotificationDispatch", h.Now, false), CancellationToken.None))));
            sent += runs.Sum(lines => int.Parse(lines[0].Split(' ')[1].TrimEnd(','), System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(60, sent);
        var delivered = h.Twilio.Delivered;
        Assert.Equal(60, delivered.Count);
        Assert.Equal(60, delivered.Select(d => d.Body).Distinct().Count());
        Assert.Equal(60, h.Twilio.Requests.Count);
        foreach (var n in messages)
        {
            var record = await h.RecordAsync(Study, n);
            Assert.Equal(DeliveryStatus.Sent, record.Status);
            Assert.Equal(1, record.Attempts);
        }

        Assert.Empty(await h.DueRowsAsync(Study));
        Assert.Empty(await h.DueRowsAsync(OtherStudy));
    }

    [Fact]
    public async Task Add_SameNotificationIdAgain_TransactionFailsWith409AndNothingIsApplied()
    {
        await using var h = await StartAsync();
        var n = Message(1);
        await h.EnqueueAsync(Study, n);
        h.Clock.Advance(TimeSpan.FromSeconds(5));

        // The event retried: its own row and the same notification, in one transaction.
        var actions = new StudyChange
        {
            new(TableTransactionActionType.Add, new TableEntity(Study, "test-event|retried") { ["At"] = h.Now }),
        };
        Outbox.Add(actions, Study, n, h.Now);
        var table = await h.TableAsync();
        var e = await Assert.ThrowsAsync<TableTransactionFailedException>(() => actions.SubmitAsync(table, CancellationToken.None));

        Assert.Equal(409, e.Status);
        Assert.Equal("EntityAlreadyExists", e.ErrorCode);
        Assert.Equal(1, e.FailedTransactionActionIndex);
        Assert.Null(await table.GetRowAsync(Study, "test-event|retried"));
        Assert.Single(await h.DueRowsAsync(Study));

        Assert.Equal("sent 1, retry 0, failed 0", (await h.RunAsync())[0]);
        Assert.Single(h.Twilio.Delivered);
    }

    [Fact]
    public async Task Add_TwoRowsPerMessage_RecordPendingAndDueRowAtEnqueueTime()
    {
        await using var h = await StartAsync();
        var n = Message(7);
        var actions = new StudyChange();
        Outbox.Add(actions, Study, n, h.Now);

        Assert.Equal(2, actions.Count);
        Assert.All(actions, a => Assert.Equal(TableTransactionActionType.Add, a.ActionType));
        Assert.Equal("outbox|evt-0007-r0", actions.First().Entity.RowKey);
        Assert.Equal("outbox-due|20260302080000000|evt-0007-r0", actions.Last().Entity.RowKey);
        await actions.SubmitAsync(await h.TableAsync(), CancellationToken.None);

        var record = await h.RecordAsync(Study, n);
        Assert.Equal(n, record.Notification);
        Assert.Equal(DeliveryStatus.Pending, record.Status);
        Assert.Equal(0, record.Attempts);
        Assert.Equal(h.Now, record.CreatedAt);
        var stored = await (await h.TableAsync()).GetRowAsync(Study, "outbox|evt-0007-r0");
        Assert.Equal("pending", stored!.GetString("Status"));
    }

    [Fact]
    public async Task Add_RecipientRole_StoredAndReadBack_AndARecordWithoutOneReadsAsUnknownAndIsStillSent()
    {
        await using var h = await StartAsync();
        var withRole = Notification.ToNumber("evt-0001-r0", "pharm-1", "+8613800100001", "Kit list.", "shipment.created", Iwrs.Domain.Access.Role.Pharmacist).Value;
        await h.EnqueueAsync(Study, withRole);
        var table = await h.TableAsync();
        Assert.Equal("pharmacist", (await table.GetRowAsync(Study, "outbox|evt-0001-r0"))!.GetString("RecipientRole"));
        Assert.Equal(withRole, (await h.RecordAsync(Study, withRole)).Notification);

        // Records written before the role was kept have no such property; one with a role this version does not know reads the same.
        var older = new StudyChange();
        Outbox.Add(older, Study, Message(2), h.Now);
        Outbox.Add(older, Study, Message(3), h.Now);
        var renamed = (TableEntity)older.ElementAt(2).Entity;
        renamed["RecipientRole"] = "role-of-a-later-version";
        await older.SubmitAsync(table, CancellationToken.None);
        Assert.False((await table.GetRowAsync(Study, "outbox|evt-0002-r0"))!.ContainsKey("RecipientRole"));

        Assert.Null((await h.RecordAsync(Study, Message(2))).Notification.RecipientRole);
        Assert.Null((await h.RecordAsync(Study, Message(3))).Notification.RecipientRole);

        // A notice for a role is sent while its recipient holds that role in the study (checked at sending).
        await new StudyChange { RoleAssignmentStore.Insert(new Iwrs.Domain.Access.RoleAssignment("pharm-1", Iwrs.Domain.Access.Role.Pharmacist, Study, "CN01"), "admin", h.Now) }
            .SubmitAsync(table, CancellationToken.None);
        Assert.Equal("sent 3, retry 0, failed 0", (await h.RunAsync())[0]);
    }

    [Fact]
    public async Task ReadDue_ManyMessages_ReadsOnlyWhatIsDueAndAtMostTop()
    {
        await using var h = await StartAsync();
        await h.EnqueueAsync(Study, Enumerable.Range(1, 30).Select(i => Message(i)).ToArray());
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.EnqueueAsync(Study, Message(99));
        var table = await h.TableAsync();

        var firstBatch = await Outbox.ReadDueAsync(table, Study, h.Now - TimeSpan.FromSeconds(1), 50, CancellationToken.None);
        var capped = await Outbox.ReadDueAsync(table, Study, h.Now, 10, CancellationToken.None);
        var all = await Outbox.ReadDueAsync(table, Study, h.Now, 50, CancellationToken.None);

        Assert.Equal(30, firstBatch.Count);
        Assert.DoesNotContain(firstBatch, d => d.NotificationId == Message(99).Id);
        Assert.Equal(10, capped.Count);
        Assert.Equal(31, all.Count);
        Assert.Equal(Message(99).Id, all[^1].NotificationId);
    }

    [Fact]
    public async Task Run_MoreThanMaxPerRun_StopsAtTheBoundAndTheRestGoNextRun()
    {
        await using var h = await StartAsync(settings: new() { ["Notifications:MaxPerRun"] = "5", ["Notifications:PageSize"] = "2" });
        await h.EnqueueAsync(Study, Enumerable.Range(1, 8).Select(i => Message(i)).ToArray());

        var first = await h.RunAsync();
        Assert.Equal("sent 5, retry 0, failed 0", first[0]);
        Assert.Contains(first, l => l.StartsWith("stopped at the limit of 5 messages", StringComparison.Ordinal));
        Assert.Equal("sent 3, retry 0, failed 0", (await h.RunAsync())[0]);
        Assert.Equal(8, h.Twilio.Delivered.Count);
    }

    [Fact]
    public async Task AdminRun_NotificationDispatch_SendsWhatIsWaiting()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        await using var app = new IwrsFactory(settings: AppSettings(twilio, []));
        await app.LoadSeedStudies();
        var n = Message(1);
        var actions = new StudyChange();
        Outbox.Add(actions, Study, n, app.Services.GetRequiredService<TimeProvider>().GetUtcNow());
        await actions.SubmitAsync(await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None), CancellationToken.None);

        using var response = await app.CreateClient().PostAsync("/admin/functions/NotificationDispatch", IwrsFactory.Json("{}"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(n.To, Assert.Single(twilio.Delivered).To);
    }

    [Fact]
    public void Dispatcher_IsATimerOnItsSettingWithThe30SecondDefault()
    {
        var function = FunctionCatalog.Find(NotificationDispatch.FunctionName)!;
        Assert.Equal("%NotificationSchedule%", function.Timer!.Schedule);
        Assert.Equal("NotificationSchedule", function.ScheduleSetting);
        Assert.Equal("*/30 * * * * *", TimerSchedules.Defaults["NotificationSchedule"]);
        var at = new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero);
        Assert.Equal(at.AddSeconds(30), LocalTimers.Next(LocalTimers.Parse(TimerSchedules.Defaults["NotificationSchedule"]), at));
    }
}
