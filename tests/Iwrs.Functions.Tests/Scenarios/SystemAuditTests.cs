using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Iwrs.AuditVerify;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// The system partition's chain (administrator grants, SMS PINs, phones): checkpointed by the same timer as the
/// studies, verified by <c>GET /api/admin/audit/verify</c> for administrators, and by the independent verifier on
/// its exports; a record edited with the storage key is named by both.
/// </summary>
public sealed class SystemAuditTests : IAsyncLifetime
{
    private const string System = IwrsTable.SystemPartition;
    private readonly IwrsFactory _app = new();
    private HttpClient _admin = null!;
    private TableClient _table = null!;

    public async Task InitializeAsync()
    {
        await _app.LoadSeedStudies();
        await _app.Grant("LJ-MCRC", "coord", "site-coordinator", "CN01");
        _admin = await _app.ClientFor(IwrsFactory.Admin);
        Assert.True((await _admin.PutAsync("/api/administrators/second-admin", null)).IsSuccessStatusCode);
        var coord = await _app.ClientFor("coord");
        Assert.True((await coord.PutAsJsonAsync("/api/sms/pin", new { pin = "2468" })).IsSuccessStatusCode);
        Assert.True((await coord.PutAsJsonAsync("/api/sms/pin", new { pin = "9753" })).IsSuccessStatusCode);
        _table = await _app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<JsonElement> Verify() => await _admin.GetFromJsonAsync<JsonElement>("/api/admin/audit/verify");

    private async Task<Outcome> Independent() => Verifier.Verify(
        await _admin.GetStringAsync("/api/admin/audit"),
        await _admin.GetStringAsync("/api/admin/audit/checkpoints"),
        await _admin.GetStringAsync("/api/audit/signing-keys"));

    [Fact]
    public async Task Timer_SignsTheSystemChain_VerifyAndTheIndependentVerifierAgreeItIsIntact()
    {
        var lines = await AkkTrial.RunCheckpointTimer(_app);
        // The configured administrator's history (first seen as one), the grant, the two PINs.
        var head = (await AuditTrail.ReadHeadAsync(_table, System, CancellationToken.None)).Sequence;
        Assert.Equal(4, head);
        Assert.Contains($"{System}: checkpoint {head} signed", string.Join('\n', lines), StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("LJ-MCRC: checkpoint", StringComparison.Ordinal));

        var verify = await Verify();
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.ToString());
        Assert.Equal(head, verify.GetProperty("headSequence").GetInt64());
        Assert.Equal(1, verify.GetProperty("checkpointsChecked").GetInt32());
        Assert.Equal(head, verify.GetProperty("newestCheckpointSequence").GetInt64());
        Assert.Equal(0, verify.GetProperty("recordsAfterNewestCheckpoint").GetInt64());
        var outcome = await Independent();
        Assert.True(outcome.Intact, outcome.ToString());
        Assert.Equal((head, 1), (outcome.RecordsChecked, outcome.CheckpointsChecked));

        var unchanged = await AkkTrial.RunCheckpointTimer(_app);
        Assert.Contains($"{System}: unchanged since checkpoint {head}", unchanged);
    }

    [Fact]
    public async Task EditedSystemRecord_WithTheStorageKey_VerifyAndTheIndependentVerifierNameIt()
    {
        await AkkTrial.RunCheckpointTimer(_app);

        // The attacker with the account key turns the administrator grant into someone else's doing.
        Assert.Equal("administrator.configured", (await _table.GetRowAsync(System, AuditTrail.RecordKey(1)))!.GetString("Action"));
        var row = (await _table.GetRowAsync(System, AuditTrail.RecordKey(2)))!;
        Assert.Equal("role.granted", row.GetString("Action"));
        row["UserId"] = "someone-else";
        await _table.UpdateEntityAsync(row, ETag.All, TableUpdateMode.Replace);

        var verify = await Verify();
        Assert.False(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(2, verify.GetProperty("firstBadSequence").GetInt64());
        var outcome = await Independent();
        Assert.False(outcome.Intact);
        Assert.Equal(2, outcome.FirstBadSequence);
    }

    [Fact]
    public async Task SystemAudit_NotAnAdministrator_403()
    {
        var coord = await _app.ClientFor("coord");
        foreach (var path in new[] { "/api/admin/audit", "/api/admin/audit/verify", "/api/admin/audit/checkpoints" })
        {
            using var response = await coord.GetAsync(path);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("administrator-required", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }
    }
}
