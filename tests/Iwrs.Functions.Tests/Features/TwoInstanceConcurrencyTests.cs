using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Iwrs.Functions.Tests.Features;

/// <summary>
/// Two app instances on one Azurite table, many writers at once: every change lands exactly once, each with
/// its own audit record, and the hash chain stays whole (the ETag on the chain head serialises them).
/// </summary>
public sealed class TwoInstanceConcurrencyTests
{
    [Fact]
    public async Task ParallelGrants_AcrossTwoInstances_AllLandOnceAndTheAuditChainVerifies()
    {
        await using var first = new IwrsFactory();
        await using var second = new IwrsFactory(tableName: first.TableName);
        await first.LoadSeedStudies();
        var clients = new[] { await first.ClientFor(IwrsFactory.Admin), await second.ClientFor(IwrsFactory.Admin) };

        const int grants = 24;
        var sites = new[] { "CN01", "CN02", "CN03" };
        var responses = await Task.WhenAll(Enumerable.Range(0, grants).Select(async i =>
        {
            using var response = await clients[i % 2].PostAsJsonAsync(
                "/api/studies/LJ-MCRC/role-assignments",
                new { userId = $"user-{i:D2}", role = "site-coordinator", siteId = sites[i % 3] });
            return response.StatusCode;
        }));
        Assert.All(responses, s => Assert.Equal(HttpStatusCode.Created, s));

        // The same grant raced from both instances: exactly one creates it, the other finds it there.
        var duplicate = await Task.WhenAll(clients.Select(async c =>
        {
            using var response = await c.PostAsJsonAsync("/api/studies/LJ-MCRC/role-assignments", new { userId = "racer", role = "pharmacist", siteId = "CN01" });
            return response.StatusCode;
        }));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Created], duplicate.Order().ToArray());

        var audit = await clients[1].GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC/audit");
        var sequences = audit.EnumerateArray().Select(a => a.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, grants + 2).Select(i => (long)i), sequences);
        Assert.Equal(grants + 1, audit.EnumerateArray().Count(a => a.GetProperty("action").GetString() == "role.granted"));

        var verify = await clients[0].GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
        Assert.Equal(grants + 2, verify.GetProperty("recordsChecked").GetInt64());

        var assignments = await clients[0].GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC/role-assignments");
        Assert.Equal(grants + 1, assignments.GetArrayLength());
    }
}
