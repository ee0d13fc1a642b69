using System.Net.Http.Json;
using System.Text.Json;
using Iwrs.Domain.Audit;
using Iwrs.Storage.Stores;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Someone with write access to the storage account edits the trail behind the app's back: changing, deleting
/// or inserting one row directly in Azurite makes /audit/verify fail and name the first bad record.
/// </summary>
public sealed class AuditTamperTests : IAsyncLifetime
{
    private const string Study = "AKK-MCRC";
    private readonly IwrsFactory _app = new();
    private TableClient _table = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        await _app.LoadSeedStudies();
        foreach (var user in new[] { "u1", "u2", "u3", "u4", "u5" })
        {
            await _app.Grant(Study, user, "study-manager");
        }

        _table = await _app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        _admin = await _app.ClientFor(IwrsFactory.Admin);
        Assert.True((await Verify()).GetProperty("intact").GetBoolean());
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<JsonElement> Verify() => await _admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit/verify");

    private async Task<TableEntity> Row(long sequence) => (await _table.GetRowAsync(Study, AuditTrail.RecordKey(sequence)))!;

    [Fact]
    public async Task Verify_OneRecordChangedInStorage_FailsNamingIt()
    {
        var row = await Row(3);
        row["Target"] = "user:someone-else";
        await _table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        var verify = await Verify();
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(3, verify.GetProperty("firstBadSequence").GetInt64());
        Assert.Contains("changed", verify.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_OneRecordDeletedInStorage_FailsNamingIt()
    {
        Assert.Equal(204, (await _table.DeleteEntityAsync(Study, AuditTrail.RecordKey(3), ETag.All)).Status);

        var verify = await Verify();
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(3, verify.GetProperty("firstBadSequence").GetInt64());
        Assert.Contains("missing", verify.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_LastRecordDeletedInStorage_FailsThroughTheHead()
    {
        var head = await AuditTrail.ReadHeadAsync(_table, Study, CancellationToken.None);
        Assert.Equal(204, (await _table.DeleteEntityAsync(Study, AuditTrail.RecordKey(head.Sequence), ETag.All)).Status);

        var verify = await Verify();
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

        var verify = await Verify();
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
