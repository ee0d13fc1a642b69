using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Iwrs.AuditVerify;
using Iwrs.Domain.Audit;
using Iwrs.Storage.Stores;
using Iwrs.Testing;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Someone with write access to the storage account (the emulator's key) edits the trail behind the app's back:
/// changing, deleting or inserting one row, and the consistent rewrites a table writer can make (a shorter chain with
/// a rewritten head, an emptied trail, a re-hashed chain), and edits of the checkpoint blobs themselves. Each makes
/// /audit/verify fail naming the first bad record, and the independent verifier (tools/Iwrs.AuditVerify), given the
/// unblinded exports, reaches the same verdict.
/// </summary>
public sealed class AuditTamperTests : IAsyncLifetime
{
    private const string Study = "AKK-MCRC";
    private readonly IwrsFactory _app = new();
    private TableClient _table = null!;
    private BlobContainerClient _blobs = null!;
    private HttpClient _admin = null!;

    /// <summary>The sequence of the first of the two checkpoints written at start; the second is at the head.</summary>
    private long _firstCheckpoint;

    public async Task InitializeAsync()
    {
        await _app.LoadSeedStudies();
        foreach (var user in new[] { "u1", "u2", "u3" })
        {
            await _app.Grant(Study, user, "study-manager");
        }

        _table = await _app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        _blobs = new BlobContainerClient(AzuriteServer.Instance.ConnectionString, _app.CheckpointContainer);
        _admin = await _app.ClientFor(IwrsFactory.Admin);
        _firstCheckpoint = await CheckpointAsync();
        foreach (var user in new[] { "u4", "u5" })
        {
            await _app.Grant(Study, user, "study-manager");
        }

        Assert.True(await CheckpointAsync() > _firstCheckpoint);
        var verify = await VerifyBoth();
        Assert.True(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(2, verify.GetProperty("checkpointsChecked").GetInt32());
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<JsonElement> Verify() => await _admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit/verify");

    /// <summary>Runs the checkpoint timer as the Functions host would and answers the study's head sequence it signed.</summary>
    private async Task<long> CheckpointAsync()
    {
        var lines = await AkkTrial.RunCheckpointTimer(_app);
        Assert.Contains(lines, l => l.StartsWith($"{Study}: checkpoint", StringComparison.Ordinal) && l.Contains("signed", StringComparison.Ordinal));
        return (await AuditTrail.ReadHeadAsync(_table, Study, CancellationToken.None)).Sequence;
    }

    /// <summary>The app's verdict, after checking that the independent verifier, run on the exports, agrees with it.</summary>
    private async Task<JsonElement> VerifyBoth()
    {
        var verify = await Verify();
        var outcome = Verifier.Verify(
            await _admin.GetStringAsync($"/api/studies/{Study}/audit"),
            await _admin.GetStringAsync($"/api/studies/{Study}/audit/checkpoints"),
            await _admin.GetStringAsync("/api/audit/signing-keys"));
        Assert.True(verify.GetProperty("intact").GetBoolean() == outcome.Intact, $"verify: {verify}; independent verifier: {outcome}");
        Assert.Equal(verify.TryGetProperty("firstBadSequence", out var bad) ? bad.GetInt64() : null, outcome.FirstBadSequence);
        return verify;
    }

    private static void AssertBroken(JsonElement verify, long firstBad, string named)
    {
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(firstBad, verify.GetProperty("firstBadSequence").GetInt64());
        Assert.Contains(named, verify.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    /// <summary>What an attacker with the account key does to the head row: points it at another record.</summary>
    private async Task RewriteHead(long sequence, string hash)
    {
        var head = (await _table.GetRowAsync(Study, AuditTrail.HeadRowKey))!;
        head["Sequence"] = sequence;
        head["Hash"] = hash;
        await _table.UpdateEntityAsync(head, ETag.All, TableUpdateMode.Replace);
    }

    private async Task<List<string>> CheckpointNames()
    {
        var names = new List<string>();
        await foreach (var blob in _blobs.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = Study + "/" }))
        {
            names.Add(blob.Name);
        }

        return names;
    }

    [Fact]
    public async Task Verify_Intact_ReportsTheCheckpointsAndNothingAfterTheNewest()
    {
        var verify = await VerifyBoth();
        var head = await AuditTrail.ReadHeadAsync(_table, Study, CancellationToken.None);
        Assert.True(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(head.Sequence, verify.GetProperty("newestCheckpointSequence").GetInt64());
        Assert.Equal(0, verify.GetProperty("recordsAfterNewestCheckpoint").GetInt64());
        Assert.True(verify.GetProperty("secondsSinceNewestCheckpoint").GetInt64() >= 0);
    }

    [Fact]
    public async Task Verify_TruncatedWithRewrittenHead_FailsAsShorterThanTheSignedCheckpoint()
    {
        // The attack: delete the last three records, point the head at the one before. The chain alone is
        // consistent (this is what verify said "intact" to before checkpoints); the checkpoint at the old head is not.
        var head = await AuditTrail.ReadHeadAsync(_table, Study, CancellationToken.None);
        var keep = head.Sequence - 3;
        for (var s = keep + 1; s <= head.Sequence; s++)
        {
            Assert.Equal(204, (await _table.DeleteEntityAsync(Study, AuditTrail.RecordKey(s), ETag.All)).Status);
        }

        await RewriteHead(keep, AuditTrail.FromEntity(await Row(keep)).Hash);

        var verify = await VerifyBoth();
        AssertBroken(verify, keep + 1, "shorter than a signed checkpoint");
        Assert.Equal(keep, verify.GetProperty("recordsChecked").GetInt64());
    }

    [Fact]
    public async Task Verify_WipedTrail_FailsAtRecordOne_EvenWithTheCheckpointsDeletedToo()
    {
        var keys = new List<string>();
        await foreach (var (key, _) in AuditTrail.ReadWithKeysAsync(_table, Study, CancellationToken.None))
        {
            keys.Add(key);
        }

        foreach (var key in keys.Append(AuditTrail.HeadRowKey))
        {
            Assert.Equal(204, (await _table.DeleteEntityAsync(Study, key, ETag.All)).Status);
        }

        AssertBroken(await VerifyBoth(), 1, "shorter than a signed checkpoint");

        // Azurite has no immutability policy, so the key holder can delete the checkpoints too: the study's own rows
        // (it still exists, with its role assignments) still give the empty trail away.
        foreach (var name in await CheckpointNames())
        {
            await _blobs.DeleteBlobAsync(name);
        }

        AssertBroken(await VerifyBoth(), 1, "the study has data but no audit record");
    }

    [Fact]
    public async Task JunkCheckpointBlob_VerifyNamesIt_AndLaterCheckpointsAreStillSigned()
    {
        // Anyone with the storage key can add a blob (a retention policy then keeps it): verify reports it, but it
        // must not stop the timer from signing the changes that come after it.
        await _blobs.GetBlobClient($"{Study}/zzz-junk").UploadAsync(BinaryData.FromString("junk"));
        Assert.Contains("zzz-junk", (await VerifyBoth()).GetProperty("problem").GetString(), StringComparison.Ordinal);

        await _app.Grant(Study, "u6", "study-manager");
        var signed = await CheckpointAsync();
        Assert.Contains(await CheckpointNames(), n => n == AuditCheckpoint.NameOf(Study, signed));
    }

    [Fact]
    public async Task Verify_ChangedCheckpointBlob_FailsWithABadSignature()
    {
        // Point the newest checkpoint at a shorter chain by editing its blob, keeping the genuine signature.
        var newest = (await CheckpointNames()).Max(StringComparer.Ordinal)!;
        var document = (await _blobs.GetBlobClient(newest).DownloadContentAsync()).Value.Content.ToObjectFromJson<AuditCheckpointStore.Document>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        var changed = document with { Hash = new string('a', 64) };
        await _blobs.GetBlobClient(newest).UploadAsync(BinaryData.FromObjectAsJson(changed, new JsonSerializerOptions(JsonSerializerDefaults.Web)), overwrite: true);

        AssertBroken(await VerifyBoth(), document.Sequence, "bad signature");
    }

    [Fact]
    public async Task Verify_ForgedSignatureOverATruncatedChain_FailsWithABadSignature()
    {
        // A forger truncates, deletes the checkpoint that would show it (possible where no immutability policy holds)
        // and signs a checkpoint of the shorter chain with a key of his own, claiming the genuine key id.
        var head = await AuditTrail.ReadHeadAsync(_table, Study, CancellationToken.None);
        var keep = head.Sequence - 1;
        Assert.Equal(204, (await _table.DeleteEntityAsync(Study, AuditTrail.RecordKey(head.Sequence), ETag.All)).Status);
        var kept = AuditTrail.FromEntity(await Row(keep));
        await RewriteHead(keep, kept.Hash);
        await _blobs.DeleteBlobAsync(AuditCheckpoint.NameOf(Study, head.Sequence));

        using var forgersKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = SignedCheckpoint.Sign(new AuditCheckpoint(Study, keep, kept.Hash, kept.At.AddMinutes(1)), forgersKey);
        var genuineKeyId = (await _admin.GetFromJsonAsync<JsonElement>("/api/audit/signing-keys")).GetProperty("keys")[0].GetProperty("keyId").GetString()!;
        var document = AuditCheckpointStore.ToDocument(forged with { KeyId = genuineKeyId });
        await _blobs.GetBlobClient(forged.Checkpoint.Name).UploadAsync(BinaryData.FromObjectAsJson(document, new JsonSerializerOptions(JsonSerializerDefaults.Web)));

        AssertBroken(await VerifyBoth(), keep, "bad signature");
    }

    [Fact]
    public async Task Verify_ChainChangedAndReHashed_FailsBecauseTheCheckpointHashIsNotInTheChain()
    {
        // The careful table writer: change the first record after the older checkpoint, then recompute every hash
        // after it and the head, so the chain is consistent again. Only the newer checkpoint can tell.
        var records = await ReadAll();
        var previous = records[(int)_firstCheckpoint - 1].Hash;
        for (var i = (int)_firstCheckpoint; i < records.Count; i++)
        {
            var r = records[i];
            var entry = new AuditEntry(r.UserId, r.Role, r.Channel, r.Action, i == _firstCheckpoint ? "user:intruder" : r.Target, r.Changes, r.Reason);
            var rewritten = AuditRecord.Append(Study, r.Sequence - 1, previous, r.At, entry);
            await _table.UpsertEntityAsync(AuditTrail.ToEntity(rewritten), TableUpdateMode.Replace);
            previous = rewritten.Hash;
        }

        await RewriteHead(records[^1].Sequence, previous);
        Assert.True(AuditVerification.Verify(await ReadAll(), records[^1].Sequence, previous).Intact);

        AssertBroken(await VerifyBoth(), _firstCheckpoint + 1, "hash is not in the chain");
    }

    private async Task<List<AuditRecord>> ReadAll()
    {
        var records = new List<AuditRecord>();
        await foreach (var r in AuditTrail.ReadAsync(_table, Study, CancellationToken.None))
        {
            records.Add(r);
        }

        return records;
    }

    private async Task<TableEntity> Row(long sequence) => (await _table.GetRowAsync(Study, AuditTrail.RecordKey(sequence)))!;

    [Fact]
    public async Task Verify_RecordWithUnreadableChanges_FailsNamingItInsteadOfA500()
    {
        var row = await Row(3);
        row["Changes"] = "not json";
        await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        var verify = await VerifyBoth();
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(3, verify.GetProperty("firstBadSequence").GetInt64());
    }

    [Fact]
    public async Task Verify_OneRecordChangedInStorage_FailsNamingIt()
    {
        var row = await Row(3);
        row["Target"] = "user:someone-else";
        await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        var verify = await VerifyBoth();
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(3, verify.GetProperty("firstBadSequence").GetInt64());
        Assert.Contains("changed", verify.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_OneRecordDeletedInStorage_FailsNamingIt()
    {
        Assert.Equal(204, (await _table.DeleteEntityAsync(Study, AuditTrail.RecordKey(3), ETag.All)).Status);

        var verify = await VerifyBoth();
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(3, verify.GetProperty("firstBadSequence").GetInt64());
        Assert.Contains("missing", verify.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_LastRecordDeletedInStorage_FailsThroughTheHead()
    {
        var head = await AuditTrail.ReadHeadAsync(_table, Study, CancellationToken.None);
        Assert.Equal(204, (await _table.DeleteEntityAsync(Study, AuditTrail.RecordKey(head.Sequence), ETag.All)).Status);

        var verify = await VerifyBoth();
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(head.Sequence, verify.GetProperty("firstBadSequence").GetInt64());
    }

    [Fact]
    public async Task Verify_ForgedRecordInsertedInStorage_FailsAtTheInsertion()
    {
        // A careful forger: the inserted record links correctly to record 3 and carries a correct hash of its own.
        var three = AuditTrail.FromEntity(await Row(3));
        var forged = AuditRecord.Append(Study, 3, three.Hash, three.At.AddSeconds(1), new AuditEntry("intruder", "administrator", Channel.Http, "role.granted", "user:intruder", []));
        var entity = AuditTrail.ToEntity(forged);
        entity.RowKey = AuditTrail.RecordKey(3) + "a";
        await _table.AddEntityAsync(entity);

        var verify = await VerifyBoth();
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(4, verify.GetProperty("firstBadSequence").GetInt64());
        Assert.Contains("audit|000000000003a", verify.GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.Contains("inserted", verify.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_CsvExport_HasEveryRecordWithItsHash()
    {
        var csv = await _admin.GetStringAsync($"/api/studies/{Study}/audit?format=csv");
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("sequence,at,userId,role,channel,action,target,changes,reason,previousHash,hash", lines[0]);
        var head = await AuditTrail.ReadHeadAsync(_table, Study, CancellationToken.None);
        Assert.Equal(head.Sequence, lines.Length - 1);
        Assert.EndsWith(head.Hash, lines[^1], StringComparison.Ordinal);
    }
}
