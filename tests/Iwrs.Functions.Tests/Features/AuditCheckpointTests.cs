using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Tests.Scenarios;
using Iwrs.Storage.Stores;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Iwrs.Functions.Tests.Features;

/// <summary>Signed checkpoints on Azurite's blob service: when they are written, that they are never overwritten, the published keys, the settings.</summary>
public sealed class AuditCheckpointTests
{
    private const string Study = "AKK-MCRC";

    private static Task<IReadOnlyList<string>> RunTimer(IwrsFactory app) => AkkTrial.RunCheckpointTimer(app);

    private static async Task<List<string>> BlobNames(IwrsFactory app, string studyId)
    {
        var container = new BlobContainerClient(AzuriteServer.Instance.ConnectionString, app.CheckpointContainer);
        if (!await container.ExistsAsync())
        {
            return [];
        }

        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = studyId + "/" }))
        {
            names.Add(blob.Name);
        }

        return names;
    }

    private static async Task<long> HeadSequence(IwrsFactory app, string studyId) =>
        (await AuditTrail.ReadHeadAsync(await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None), studyId, CancellationToken.None)).Sequence;

    [Fact]
    public async Task Timer_SignsEachStudyWhoseHeadMoved_AndNothingWhenUnchanged()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();

        // Both studies, and the system partition (the configured administrator who loaded them is recorded there).
        var first = await RunTimer(app);
        Assert.Equal(3, first.Count(l => l.Contains("signed with key", StringComparison.Ordinal)));
        Assert.Equal([AuditCheckpoint.NameOf(Study, await HeadSequence(app, Study))], await BlobNames(app, Study));

        var second = await RunTimer(app);
        Assert.All(second, l => Assert.Contains("unchanged", l, StringComparison.Ordinal));

        await app.Grant(Study, "manager", "study-manager");
        var third = await RunTimer(app);
        Assert.Contains(third, l => l.StartsWith($"{Study}: checkpoint", StringComparison.Ordinal));
        Assert.Contains(third, l => l.StartsWith("LJ-MCRC: unchanged", StringComparison.Ordinal));
        Assert.Equal(2, (await BlobNames(app, Study)).Count);
        Assert.Single(await BlobNames(app, "LJ-MCRC"));
    }

    [Fact]
    public async Task Timer_TrailAlreadyAltered_SignsNothing()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        var table = await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        var row = (await table.GetRowAsync(Study, AuditTrail.RecordKey(1)))!;
        row["Target"] = "study:other";
        await table.UpdateEntityAsync(row, Azure.ETag.All, Azure.Data.Tables.TableUpdateMode.Replace);

        var lines = await RunTimer(app);

        Assert.Contains(lines, l => l.StartsWith($"{Study}: not signed", StringComparison.Ordinal));
        Assert.Empty(await BlobNames(app, Study));
    }

    [Fact]
    public async Task Unblinding_WritesACheckpointOfItsOwnRecord()
    {
        await using var app = new IwrsFactory();
        var trial = await AkkTrial.WithSubjectsAsync(app, "AKK-001");
        Assert.Empty(await BlobNames(app, Study));

        await trial.Ok("inv", HttpMethod.Post, "subjects/AKK-001/unblind", new { reason = "Emergency surgery" });

        Assert.Equal([AuditCheckpoint.NameOf(Study, await HeadSequence(app, Study))], await BlobNames(app, Study));
    }

    [Fact]
    public async Task Store_ExistingCheckpoint_IsNeverOverwritten()
    {
        await using var app = new IwrsFactory();
        var store = app.Services.GetRequiredService<AuditCheckpointStore>();
        var signing = app.Services.GetRequiredService<AuditSigning>();
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var original = signing.Sign(new AuditCheckpoint(Study, 3, new string('a', 64), at));

        Assert.True(await store.CreateAsync(original, CancellationToken.None));
        Assert.False(await store.CreateAsync(signing.Sign(new AuditCheckpoint(Study, 3, new string('b', 64), at.AddHours(1))), CancellationToken.None));

        var stored = Assert.Single(await store.ReadAllAsync(Study, CancellationToken.None));
        Assert.Equal(original, stored.Signed);
    }

    [Fact]
    public async Task Verify_ReportsTheTimeAndRecordsSinceTheNewestCheckpoint()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var app = new IwrsFactory(services: s => s.AddSingleton<TimeProvider>(time));
        await app.LoadSeedStudies();
        var admin = await app.ClientFor(IwrsFactory.Admin);
        var before = await admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit/verify");
        Assert.False(before.TryGetProperty("newestCheckpointAt", out _));
        Assert.False(before.TryGetProperty("secondsSinceNewestCheckpoint", out _));

        await RunTimer(app);
        time.Advance(TimeSpan.FromMinutes(90));
        await app.Grant(Study, "manager", "study-manager");

        var verify = await admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean());
        Assert.Equal(5400, verify.GetProperty("secondsSinceNewestCheckpoint").GetInt64());
        Assert.Equal(1, verify.GetProperty("recordsAfterNewestCheckpoint").GetInt64());
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero), verify.GetProperty("newestCheckpointAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task SigningKeys_Anonymous_CurrentKeyFirstWithItsId_AndAPreviousKeyStillVerifies()
    {
        using var previous = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var app = new IwrsFactory(settings: new() { ["Audit:PreviousPublicKeys:0"] = previous.ExportSubjectPublicKeyInfoPem() });
        await app.LoadSeedStudies();

        using var anonymous = app.CreateClient();
        var keys = (await anonymous.GetFromJsonAsync<JsonElement>("/api/audit/signing-keys")).GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(2, keys.Count);
        Assert.True(keys[0].GetProperty("current").GetBoolean());
        Assert.Equal("ES256", keys[0].GetProperty("algorithm").GetString());
        using var current = ECDsa.Create();
        current.ImportFromPem(IwrsFactory.AuditSigningKey);
        Assert.Equal(SigningKeys.KeyIdOf(current.ExportSubjectPublicKeyInfo()), keys[0].GetProperty("keyId").GetString());
        Assert.Equal(SigningKeys.KeyIdOf(previous.ExportSubjectPublicKeyInfo()), keys[1].GetProperty("keyId").GetString());
        Assert.False(keys[1].GetProperty("current").GetBoolean());

        // A checkpoint the rotated-out key signed (written straight into the container) still counts.
        var head = await AuditTrail.ReadHeadAsync(await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None), Study, CancellationToken.None);
        var old = SignedCheckpoint.Sign(new AuditCheckpoint(Study, head.Sequence, head.Hash, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), previous);
        var container = new BlobContainerClient(AzuriteServer.Instance.ConnectionString, app.CheckpointContainer);
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient(old.Checkpoint.Name).UploadAsync(BinaryData.FromObjectAsJson(AuditCheckpointStore.ToDocument(old), new JsonSerializerOptions(JsonSerializerDefaults.Web)));

        var admin = await app.ClientFor(IwrsFactory.Admin);
        var verify = await admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.ToString());
        Assert.Equal(1, verify.GetProperty("checkpointsChecked").GetInt32());
    }

    [Fact]
    public async Task Checkpoints_BlindedReader_Refused()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        await app.Grant(Study, "manager", "study-manager");
        var manager = await app.ClientFor("manager");

        using var response = await manager.GetAsync($"/api/studies/{Study}/audit/checkpoints");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("unblinded-role-required", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Settings_ProductionWithoutSigningKey_AppRefusesToStart()
    {
        await using var app = new IwrsFactory(settings: new(IwrsFactory.ProductionSettings()) { ["Audit:SigningKey"] = "" }, environment: "Production");

        Assert.Contains("Audit:SigningKey is required", IwrsFactory.StartupFailure(app).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_BadKeysAndContainer_EachNamed()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        await using var app = new IwrsFactory(settings: new()
        {
            ["Audit:SigningKey"] = p384.ExportPkcs8PrivateKeyPem(),
            ["Audit:PreviousPublicKeys:0"] = "not a key",
            ["Audit:CheckpointContainer"] = "Bad_Name",
        });

        var message = IwrsFactory.StartupFailure(app).Message;

        Assert.Contains("Audit:SigningKey must be a key on the P-256 curve", message, StringComparison.Ordinal);
        Assert.Contains("Audit:PreviousPublicKeys:0", message, StringComparison.Ordinal);
        Assert.Contains("Audit:CheckpointContainer", message, StringComparison.Ordinal);
    }
}
