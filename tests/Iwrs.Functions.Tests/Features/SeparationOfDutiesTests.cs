using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Iwrs.Domain.Access;
using Iwrs.Functions.Features;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Features;

/// <summary>
/// Nobody holds a blinded and an unblinded role in the same study: grants that would break it are refused over HTTP,
/// whoever asks and in either direction, also when two conflicting grants race; pairs stored before the rule are listed
/// for administrators and give their holder nothing in the study meanwhile. Whoever held an unblinded role in a study
/// is never given a blinded one there, also after a revoke.
/// </summary>
public sealed class SeparationOfDutiesTests : IAsyncLifetime
{
    private const string Study = "LJ-MCRC";

    private readonly IwrsFactory _app = new();

    public async Task InitializeAsync()
    {
        await _app.LoadSeedStudies();
        await _app.Grant(Study, "stat", "unblinded-statistician");
        await _app.Grant(Study, "depot", "depot-manager");
        await _app.Grant(Study, "coord", "site-coordinator", "CN01");
        await _app.Grant(Study, "manager", "study-manager");
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData(IwrsFactory.Admin, "stat", "site-coordinator", "CN01", "unblinded-statistician")]
    [InlineData("manager", "stat", "site-coordinator", "CN01", "unblinded-statistician")]
    [InlineData("manager", "depot", "pharmacist", "CN01", "depot-manager")]
    [InlineData("manager", "depot", "medical-monitor", null, "depot-manager")]
    public async Task GrantRole_BlindedRoleToUnblindedHolder_Refused409RoleConflict(string granter, string user, string role, string? siteId, string held)
    {
        var client = await _app.ClientFor(granter);

        using var response = await client.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = user, role, siteId });

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict, "role-conflict");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains(held, detail, StringComparison.Ordinal);
        Assert.Contains(role, detail, StringComparison.Ordinal);
        AccessTests.AssertBlind(problem.GetRawText());
        Assert.DoesNotContain(await AssignmentsAsync(), a => a.UserId == user && a.Role == role);
    }

    [Theory]
    [InlineData("coord", "unblinded-statistician", "site-coordinator")]
    [InlineData("coord", "depot-manager", "site-coordinator")]
    [InlineData("manager", "unblinded-statistician", "study-manager")]
    public async Task GrantRole_UnblindedRoleToBlindedHolder_Refused409RoleConflictEvenForTheAdministrator(string user, string role, string held)
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);

        using var response = await admin.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = user, role });

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict, "role-conflict");
        Assert.Contains(held, problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        Assert.DoesNotContain(await AssignmentsAsync(), a => a.UserId == user && a.Role == role);
    }

    [Fact]
    public async Task GrantRole_SameClassOrOtherStudy_StillGranted()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        var manager = await _app.ClientFor("manager");

        using var blindedToBlinded = await manager.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "coord", role = "pharmacist", siteId = "CN02" });
        Assert.Equal(HttpStatusCode.Created, blindedToBlinded.StatusCode);
        using var unblindedToUnblinded = await admin.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "stat", role = "depot-manager" });
        Assert.Equal(HttpStatusCode.Created, unblindedToUnblinded.StatusCode);
        using var otherStudy = await admin.PostAsJsonAsync("/api/studies/AKK-MCRC/role-assignments", new { userId = "stat", role = "site-coordinator", siteId = "CN01" });
        Assert.Equal(HttpStatusCode.Created, otherStudy.StatusCode);
        using var unblindedToAdministrator = await admin.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = IwrsFactory.Admin, role = "unblinded-statistician" });
        Assert.Equal(HttpStatusCode.Created, unblindedToAdministrator.StatusCode);

        // None of these pairs is a conflict, and each holder keeps the use of both roles.
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("/api/admin/role-conflicts")).GetArrayLength());
        var coord = await _app.ClientFor("coord");
        Assert.Equal(HttpStatusCode.OK, (await coord.GetAsync($"/api/studies/{Study}/sites/CN02/inventory")).StatusCode);
        var stat = await _app.ClientFor("stat");
        Assert.Equal(HttpStatusCode.OK, (await stat.GetAsync($"/api/studies/{Study}/shipments")).StatusCode);
    }

    /// <summary>
    /// Attacker review: a depot manager's role revoked, the blinded study manager made the same person a site
    /// coordinator, who had seen every kit's type. Whoever held an unblinded role in a study never gets a blinded one
    /// there, whoever asks; revoking does not undo what they saw.
    /// </summary>
    [Theory]
    [InlineData("manager", "site-coordinator", "CN01")]
    [InlineData(IwrsFactory.Admin, "site-coordinator", "CN01")]
    [InlineData("manager", "medical-monitor", null)]
    [InlineData(IwrsFactory.Admin, "study-manager", null)]
    public async Task GrantRole_BlindedRoleToAFormerUnblindedHolder_Refused409RoleConflictWhoeverAsks(string granter, string role, string? siteId)
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        using (var revoke = await admin.DeleteAsync($"/api/studies/{Study}/role-assignments/depot/depot-manager"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        var client = await _app.ClientFor(granter);
        using var response = await client.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "depot", role, siteId });

        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict, "role-conflict");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("'depot' was unblinded in this study before (depot-manager)", detail, StringComparison.Ordinal);
        Assert.Contains(role, detail, StringComparison.Ordinal);
        AccessTests.AssertBlind(problem.GetRawText());
        Assert.DoesNotContain(await AssignmentsAsync(), a => a.UserId == "depot");

        // Unblinded roles again in this study, and any role in another study, are still granted.
        using var unblindedAgain = await admin.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "depot", role = "unblinded-statistician" });
        Assert.Equal(HttpStatusCode.Created, unblindedAgain.StatusCode);
        using var otherStudy = await admin.PostAsJsonAsync("/api/studies/AKK-MCRC/role-assignments", new { userId = "depot", role, siteId });
        Assert.Equal(HttpStatusCode.Created, otherStudy.StatusCode);
    }

    [Fact]
    public async Task GrantRole_FormerBlindedHolder_MayBeUnblindedButNeverBlindedAgain()
    {
        var manager = await _app.ClientFor("manager");
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        using (var revoke = await manager.DeleteAsync($"/api/studies/{Study}/role-assignments/coord/site-coordinator?siteId=CN01"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        using var unblinded = await admin.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "coord", role = "depot-manager" });
        Assert.Equal(HttpStatusCode.Created, unblinded.StatusCode);
        using (var revoke = await admin.DeleteAsync($"/api/studies/{Study}/role-assignments/coord/depot-manager"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        using var blindedAgain = await manager.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "coord", role = "site-coordinator", siteId = "CN01" });
        var problem = await ProblemAssert.IsProblem(blindedAgain, HttpStatusCode.Conflict, "role-conflict");
        Assert.Contains("was unblinded in this study before", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("/api/admin/role-conflicts")).GetArrayLength());
    }

    /// <summary>
    /// Each racer was a depot manager, revoked; then an unblinded and a blinded grant race from two instances. The history
    /// row is read after the audit head and written in the unblinded grant's transaction, so the blinded grant is refused
    /// every time, whichever lands first.
    /// </summary>
    [Fact]
    public async Task GrantRole_FormerUnblindedHoldersRaceBlindedAndUnblindedGrantsFromTwoInstances_BlindedAlwaysRefused()
    {
        await using var second = new IwrsFactory(tableName: _app.TableName);
        var clients = new[] { await _app.ClientFor(IwrsFactory.Admin), await second.ClientFor(IwrsFactory.Admin) };
        const int users = 6;
        for (var i = 0; i < users; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await GrantAsync(clients[0], $"racer-{i}", "depot-manager", null)).Status);
            using var revoke = await clients[1].DeleteAsync($"/api/studies/{Study}/role-assignments/racer-{i}/depot-manager");
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        var outcomes = await Task.WhenAll(Enumerable.Range(0, users).SelectMany(i => new[]
        {
            GrantAsync(clients[i % 2], $"racer-{i}", "site-coordinator", "CN01"),
            GrantAsync(clients[(i + 1) % 2], $"racer-{i}", "unblinded-statistician", null),
        }));

        var assignments = await AssignmentsAsync();
        for (var i = 0; i < users; i++)
        {
            Assert.Equal([(HttpStatusCode.Conflict, "role-conflict"), (HttpStatusCode.Created, null)], outcomes.Where(o => o.User == $"racer-{i}").Select(o => (o.Status, o.Code)));
            Assert.Equal([($"racer-{i}", "unblinded-statistician")], assignments.Where(a => a.UserId == $"racer-{i}"));
        }

        var verify = await clients[0].GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }

    /// <summary>
    /// Attacker review 9: an unblinded role stored before histories were kept has no history row. Revoked (straight
    /// away, or after a grant of it again that changes nothing), it now leaves one, and a blinded grant is refused.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GrantRole_UnblindedRoleStoredBeforeHistoriesThenRevoked_BlindedRefused(bool grantedAgainFirst)
    {
        var user = grantedAgainFirst ? "olddepot2" : "olddepot1";
        await new StudyChange { RoleAssignmentStore.Insert(new RoleAssignment(user, Role.DepotManager, Study, null), "legacy", DateTimeOffset.UnixEpoch) }.SubmitAsync(await TableAsync(), CancellationToken.None);
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        if (grantedAgainFirst)
        {
            using var again = await admin.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = user, role = "depot-manager" });
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        using (var revoke = await admin.DeleteAsync($"/api/studies/{Study}/role-assignments/{user}/depot-manager"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        var manager = await _app.ClientFor("manager");
        using var blinded = await manager.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = user, role = "site-coordinator", siteId = "CN01" });
        var problem = await ProblemAssert.IsProblem(blinded, HttpStatusCode.Conflict, "role-conflict");
        Assert.Contains("was unblinded in this study before (depot-manager)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListRoleConflicts_BlindedHolderWithUnblindedHistoryStoredBeforeTheRule_Listed()
    {
        // As a history row and a blinded role could stand together only if written past the rule (straight to the table).
        var table = await TableAsync();
        await new StudyChange { RoleAssignmentStore.WriteHistory(UnblindedHistory.After(null, new RoleAssignment("coord", Role.DepotManager, Study, null), "legacy", DateTimeOffset.UnixEpoch)!, etag: null) }.SubmitAsync(table, CancellationToken.None);
        var admin = await _app.ClientFor(IwrsFactory.Admin);

        var conflicts = (await admin.GetFromJsonAsync<JsonElement>("/api/admin/role-conflicts")).EnumerateArray().ToList();

        var conflict = Assert.Single(conflicts);
        Assert.Equal("LJ-MCRC coord blinded[site-coordinator@CN01 by admin-1] unblinded[]", Describe(conflict));
        var history = conflict.GetProperty("formerlyUnblinded");
        Assert.Equal(["depot-manager"], history.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("legacy", history.GetProperty("firstGrantedBy").GetString());
    }

    [Fact]
    public async Task GrantRole_BlindedRoleToAdministrator_RefusedForConfiguredAndStoredAdministrators()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/administrators/admin-2", null)).StatusCode);

        foreach (var (granter, administrator) in new[] { (IwrsFactory.Admin, IwrsFactory.Admin), (IwrsFactory.Admin, "admin-2"), ("manager", "admin-2"), ("manager", IwrsFactory.Admin) })
        {
            var client = await _app.ClientFor(granter);
            using var response = await client.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = administrator, role = "site-coordinator", siteId = "CN01" });
            var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict, "role-conflict");
            Assert.Contains("is an administrator", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(await AssignmentsAsync(), a => a.UserId is IwrsFactory.Admin or "admin-2");
    }

    /// <summary>
    /// An administrator loaded the configurations (arms, kit types, block sizes) and could read every study: revoked,
    /// they are given no blinded role in any study, whoever asks; unblinded roles are still granted.
    /// </summary>
    [Theory]
    [InlineData(IwrsFactory.Admin, "site-coordinator", "CN01")]
    [InlineData("manager", "pharmacist", "CN02")]
    [InlineData("manager", "study-manager", null)]
    public async Task GrantRole_BlindedRoleToAFormerAdministrator_Refused409RoleConflictWhoeverAsks(string granter, string role, string? siteId)
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/administrators/admin-2", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/api/administrators/admin-2")).StatusCode);

        // In another study too (the study manager holds no role in AKK-MCRC, so the administrator asks there).
        var client = await _app.ClientFor(granter);
        foreach (var study in new[] { Study, "AKK-MCRC" })
        {
            using var response = await (study == Study ? client : admin).PostAsJsonAsync($"/api/studies/{study}/role-assignments", new { userId = "admin-2", role, siteId = study == Study ? siteId : siteId is null ? null : "CN01" });
            var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict, "role-conflict");
            Assert.Contains("'admin-2' was an administrator before", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
            AccessTests.AssertBlind(problem.GetRawText());
        }

        Assert.DoesNotContain(await AssignmentsAsync(), a => a.UserId == "admin-2");
        using var unblinded = await admin.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "admin-2", role = "unblinded-statistician" });
        Assert.Equal(HttpStatusCode.Created, unblinded.StatusCode);

        // Made administrator again (allowed: no blinded role is held) and revoked again, the history keeps its first grant.
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/administrators/admin-2", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/api/administrators/admin-2")).StatusCode);
        var history = await _app.Services.GetRequiredService<RoleAssignmentStore>().HistoryAsync(UnblindedHistory.AllStudies, "admin-2", CancellationToken.None);
        Assert.Equal([Role.Administrator], history!.History.Roles);
        Assert.Equal(IwrsFactory.Admin, history.History.FirstGrantedBy);
    }

    /// <summary>
    /// An administrator only by <c>Auth:BootstrapAdministrators</c> is recorded the first time they are seen as one
    /// (audited in the system trail). Removed from the setting (another app on the same storage), they are refused a
    /// blinded role. One configured but never seen acting saw nothing and leaves nothing.
    /// </summary>
    [Fact]
    public async Task GrantRole_ConfiguredAdministratorRemovedFromTheSetting_BlindedRefusedOnceTheyActed()
    {
        await using (var configured = new IwrsFactory(_app.TableName, settings: new() { ["Auth:BootstrapAdministrators:1"] = "boot-2", ["Auth:BootstrapAdministrators:2"] = "boot-3" }))
        {
            var boot = await configured.ClientFor("boot-2");
            Assert.Equal(HttpStatusCode.OK, (await boot.GetAsync("/api/admin/role-conflicts")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await boot.GetAsync("/api/admin/role-conflicts")).StatusCode);
        }

        var admin = await _app.ClientFor(IwrsFactory.Admin);
        var trail = (await admin.GetFromJsonAsync<JsonElement>("/api/admin/audit")).EnumerateArray().Where(r => r.GetProperty("target").GetString() == "user:boot-2").ToList();
        Assert.Equal(["administrator.configured"], trail.Select(r => r.GetProperty("action").GetString()));

        var manager = await _app.ClientFor("manager");
        using var blinded = await manager.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "boot-2", role = "site-coordinator", siteId = "CN01" });
        var problem = await ProblemAssert.IsProblem(blinded, HttpStatusCode.Conflict, "role-conflict");
        Assert.Contains("'boot-2' was an administrator before", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        var history = await _app.Services.GetRequiredService<RoleAssignmentStore>().HistoryAsync(UnblindedHistory.AllStudies, "boot-2", CancellationToken.None);
        Assert.Equal(AdminFunctions.ConfiguredAdministrator, history!.History.FirstGrantedBy);

        using var neverActed = await manager.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "boot-3", role = "site-coordinator", siteId = "CN01" });
        Assert.Equal(HttpStatusCode.Created, neverActed.StatusCode);
    }

    /// <summary>
    /// Attacker review 13: asking whether a grantee is an administrator recorded a configured one's history, in their
    /// name, when a study manager tried to grant them a blinded role. Only their own requests record it now.
    /// </summary>
    [Fact]
    public async Task GrantRole_ToAConfiguredAdministratorWhoNeverActed_RefusedAndNothingRecordedInTheirName()
    {
        await using (var configured = new IwrsFactory(_app.TableName, settings: new() { ["Auth:BootstrapAdministrators:1"] = "boot-9" }))
        {
            var manager = await configured.ClientFor("manager");
            using var refused = await manager.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "boot-9", role = "site-coordinator", siteId = "CN01" });
            var problem = await ProblemAssert.IsProblem(refused, HttpStatusCode.Conflict, "role-conflict");
            Assert.Contains("'boot-9' is an administrator", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        }

        var admin = await _app.ClientFor(IwrsFactory.Admin);
        Assert.DoesNotContain((await admin.GetFromJsonAsync<JsonElement>("/api/admin/audit")).EnumerateArray(), r => r.GetProperty("target").GetString() == "user:boot-9");
        Assert.Null(await _app.Services.GetRequiredService<RoleAssignmentStore>().HistoryAsync(UnblindedHistory.AllStudies, "boot-9", CancellationToken.None));
    }

    /// <summary>An administrator row stored before histories were kept leaves one when revoked.</summary>
    [Fact]
    public async Task GrantRole_AdministratorStoredBeforeHistoriesThenRevoked_BlindedRefused()
    {
        await Insert(await TableAsync(), new RoleAssignment("oldadmin", Role.Administrator, null, null));
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/api/administrators/oldadmin")).StatusCode);

        var manager = await _app.ClientFor("manager");
        using var blinded = await manager.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "oldadmin", role = "site-coordinator", siteId = "CN01" });

        var problem = await ProblemAssert.IsProblem(blinded, HttpStatusCode.Conflict, "role-conflict");
        Assert.Contains("'oldadmin' was an administrator before", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        var history = await _app.Services.GetRequiredService<RoleAssignmentStore>().HistoryAsync(UnblindedHistory.AllStudies, "oldadmin", CancellationToken.None);
        Assert.Equal(("legacy", DateTimeOffset.UnixEpoch), (history!.History.FirstGrantedBy, history.History.FirstGrantedAt));
    }

    [Fact]
    public async Task ListRoleConflicts_BlindedHolderWhoWasAnAdministrator_ListedWithThatPast()
    {
        // The blinded role "coord" holds, with an administrator history written past the rule (straight to the table).
        var table = await TableAsync();
        await new StudyChange { RoleAssignmentStore.WriteHistory(UnblindedHistory.After(null, new RoleAssignment("coord", Role.Administrator, null, null), "legacy", DateTimeOffset.UnixEpoch)!, etag: null) }.SubmitAsync(table, CancellationToken.None);
        var admin = await _app.ClientFor(IwrsFactory.Admin);

        var conflict = Assert.Single((await admin.GetFromJsonAsync<JsonElement>("/api/admin/role-conflicts")).EnumerateArray());

        Assert.Equal("LJ-MCRC coord blinded[site-coordinator@CN01 by admin-1] unblinded[]", Describe(conflict));
        var history = conflict.GetProperty("formerlyUnblinded");
        Assert.Equal(["administrator"], history.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("legacy", history.GetProperty("firstGrantedBy").GetString());
    }

    [Fact]
    public async Task GrantAdministrator_HolderOfABlindedStudyRole_Refused409RoleConflict()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);

        using var refused = await admin.PutAsync("/api/administrators/coord", null);

        var problem = await ProblemAssert.IsProblem(refused, HttpStatusCode.Conflict, "role-conflict");
        Assert.Contains("site-coordinator at CN01 in study LJ-MCRC", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        var coord = await _app.ClientFor("coord");
        Assert.False((await coord.GetFromJsonAsync<JsonElement>("/api/me")).GetProperty("administrator").GetBoolean());

        using var unblindedOnly = await admin.PutAsync("/api/administrators/stat", null);
        Assert.Equal(HttpStatusCode.Created, unblindedOnly.StatusCode);
    }

    [Fact]
    public async Task GrantRole_ConflictingGrantsAtOnceFromTwoInstances_ExactlyOneSucceeds()
    {
        await using var second = new IwrsFactory(tableName: _app.TableName);
        var clients = new[] { await _app.ClientFor(IwrsFactory.Admin), await second.ClientFor(IwrsFactory.Admin) };
        const int users = 6;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, users).SelectMany(i => new[]
        {
            GrantAsync(clients[i % 2], $"racer-{i}", "site-coordinator", "CN01"),
            GrantAsync(clients[(i + 1) % 2], $"racer-{i}", "unblinded-statistician", null),
        }));

        var assignments = await AssignmentsAsync();
        for (var i = 0; i < users; i++)
        {
            var mine = outcomes.Where(o => o.User == $"racer-{i}").ToList();
            Assert.Equal(1, mine.Count(o => o.Status == HttpStatusCode.Created));
            Assert.Equal(1, mine.Count(o => o.Status == HttpStatusCode.Conflict && o.Code == "role-conflict"));
            Assert.Single(assignments, a => a.UserId == $"racer-{i}");
        }

        var verify = await clients[0].GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }

    [Fact]
    public async Task GrantRole_BlindedGrantWhileAnAdministratorGrantLandsInBetween_TakesItselfBack()
    {
        // The administrator grant is written between the blinded grant's check and its transaction: the moment no
        // transaction can guard, as administrators live in another partition.
        var tableName = AzuriteServer.UniqueTableName("it");
        var race = new RaceHandler(tableName, "role|racer|site-coordinator|CN01", table => Insert(table, new RoleAssignment("racer", Role.Administrator, null, null)));
        await using var app = new IwrsFactory(tableName, services: s => s.AddHttpClient(StorageSetup.HttpClientName).AddHttpMessageHandler(() => race));
        await app.LoadSeedStudies();
        var admin = await app.ClientFor(IwrsFactory.Admin);

        using var response = await admin.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId = "racer", role = "site-coordinator", siteId = "CN01" });

        Assert.True(race.Fired);
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict, "role-conflict");
        Assert.Contains("is an administrator", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        var assignments = await admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/role-assignments");
        Assert.DoesNotContain(assignments.EnumerateArray(), a => a.GetProperty("userId").GetString() == "racer");
        var audit = (await admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit")).EnumerateArray().Where(a => a.GetProperty("target").GetString() == "user:racer").ToList();
        Assert.Equal(["role.granted", "role.revoked"], audit.Select(a => a.GetProperty("action").GetString()));
        Assert.StartsWith("Taken back as it was granted", audit[1].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True((await admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/audit/verify")).GetProperty("intact").GetBoolean());
    }

    [Fact]
    public async Task GrantAdministrator_WhileABlindedGrantLandsInBetween_TakesItselfBack()
    {
        var tableName = AzuriteServer.UniqueTableName("it");
        var race = new RaceHandler(tableName, "role|racer|administrator|*", table => Insert(table, new RoleAssignment("racer", Role.Pharmacist, Study, "CN02")));
        await using var app = new IwrsFactory(tableName, services: s => s.AddHttpClient(StorageSetup.HttpClientName).AddHttpMessageHandler(() => race));
        await app.LoadSeedStudies();
        var admin = await app.ClientFor(IwrsFactory.Admin);

        using var response = await admin.PutAsync("/api/administrators/racer", null);

        Assert.True(race.Fired);
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict, "role-conflict");
        Assert.Contains("pharmacist at CN02 in study LJ-MCRC", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        var administrators = await admin.GetFromJsonAsync<JsonElement>("/api/administrators");
        Assert.DoesNotContain(administrators.EnumerateArray(), a => a.GetProperty("userId").GetString() == "racer");
    }

    [Fact]
    public async Task ListRoleConflicts_PairsStoredBeforeTheRule_ListedWithBothSides()
    {
        var table = await TableAsync();
        await Insert(table, new RoleAssignment("stat", Role.SiteCoordinator, Study, "CN01"));
        await Insert(table, new RoleAssignment(IwrsFactory.Admin, Role.Pharmacist, "AKK-MCRC", "CN01"));
        await Insert(table, new RoleAssignment("admin-2", Role.Administrator, null, null));
        await Insert(table, new RoleAssignment("admin-2", Role.StudyManager, Study, null));
        await Insert(table, new RoleAssignment("coord", Role.Pharmacist, Study, "CN02"));
        var admin = await _app.ClientFor(IwrsFactory.Admin);

        var conflicts = await admin.GetFromJsonAsync<JsonElement>("/api/admin/role-conflicts");

        Assert.Equal(
            [
                "AKK-MCRC admin-1 blinded[pharmacist@CN01 by legacy] unblinded[administrator by Auth:BootstrapAdministrators]",
                "LJ-MCRC admin-2 blinded[study-manager by legacy] unblinded[administrator by legacy]",
                "LJ-MCRC stat blinded[site-coordinator@CN01 by legacy] unblinded[unblinded-statistician by admin-1]",
            ],
            conflicts.EnumerateArray().Select(Describe));
    }

    [Fact]
    public async Task ListRoleConflicts_NoConflict_EmptyList()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);

        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("/api/admin/role-conflicts")).GetArrayLength());
    }

    [Theory]
    [InlineData("manager")]
    [InlineData("stat")]
    [InlineData("coord")]
    [InlineData("nobody")]
    public async Task ListRoleConflicts_NotAnAdministrator_Refused(string user)
    {
        var client = await _app.ClientFor(user);

        await ProblemAssert.IsProblem(await client.GetAsync("/api/admin/role-conflicts"), HttpStatusCode.Forbidden, "administrator-required");
    }

    [Fact]
    public async Task ConflictingPairStoredBeforeTheRule_HolderDoesNothingInTheStudyUntilOneRoleIsRevoked()
    {
        await Insert(await TableAsync(), new RoleAssignment("stat", Role.SiteCoordinator, Study, "CN01"));
        var stat = await _app.ClientFor("stat");

        foreach (var path in new[] { $"/api/studies/{Study}", $"/api/studies/{Study}/configuration", $"/api/studies/{Study}/randomization-list", $"/api/studies/{Study}/sites/CN01/inventory", $"/api/studies/{Study}/audit" })
        {
            var problem = await ProblemAssert.IsProblem(await stat.GetAsync(path), HttpStatusCode.Forbidden, "not-authorized");
            Assert.Contains("a blinded and an unblinded role", problem.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        }

        var randomize = new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" } };
        await ProblemAssert.IsProblem(await stat.PostAsJsonAsync($"/api/studies/{Study}/subjects/S-001/randomize", randomize), HttpStatusCode.Forbidden, "not-authorized");

        // The study list still names the study, in its blinded form.
        var studies = await stat.GetStringAsync("/api/studies");
        Assert.Contains(Study, studies, StringComparison.Ordinal);
        AccessTests.AssertBlind(studies);

        // The study manager revokes the blinded half; the statistician's own role works again.
        var manager = await _app.ClientFor("manager");
        using var revoked = await manager.DeleteAsync($"/api/studies/{Study}/role-assignments/stat/site-coordinator?siteId=CN01");
        Assert.True(revoked.StatusCode == HttpStatusCode.NoContent, await revoked.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await stat.GetAsync($"/api/studies/{Study}/configuration")).StatusCode);
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("/api/admin/role-conflicts")).GetArrayLength());
    }

    [Fact]
    public async Task AdministratorWithABlindedRoleStoredBeforeTheRule_IsRefusedInThatStudyOnly()
    {
        await Insert(await TableAsync(), new RoleAssignment(IwrsFactory.Admin, Role.SiteCoordinator, "AKK-MCRC", "CN01"));
        var admin = await _app.ClientFor(IwrsFactory.Admin);

        await ProblemAssert.IsProblem(await admin.GetAsync("/api/studies/AKK-MCRC/configuration"), HttpStatusCode.Forbidden, "not-authorized");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/studies/{Study}/configuration")).StatusCode);
        Assert.Single((await admin.GetFromJsonAsync<JsonElement>("/api/admin/role-conflicts")).EnumerateArray());
    }

    private static string Describe(JsonElement conflict) =>
        $"{conflict.GetProperty("studyId").GetString()} {conflict.GetProperty("userId").GetString()} " +
        $"blinded[{string.Join(",", conflict.GetProperty("blinded").EnumerateArray().Select(Held))}] " +
        $"unblinded[{string.Join(",", conflict.GetProperty("unblinded").EnumerateArray().Select(Held))}]";

    private static string Held(JsonElement role) =>
        role.GetProperty("role").GetString() + (role.TryGetProperty("siteId", out var site) ? "@" + site.GetString() : string.Empty) + " by " + role.GetProperty("grantedBy").GetString();

    private async Task<IReadOnlyList<(string UserId, string Role)>> AssignmentsAsync()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        var json = await admin.GetFromJsonAsync<JsonElement>($"/api/studies/{Study}/role-assignments");
        return [.. json.EnumerateArray().Select(a => (a.GetProperty("userId").GetString()!, a.GetProperty("role").GetString()!))];
    }

    private static async Task<(string User, HttpStatusCode Status, string? Code)> GrantAsync(HttpClient client, string userId, string role, string? siteId)
    {
        using var response = await client.PostAsJsonAsync($"/api/studies/{Study}/role-assignments", new { userId, role, siteId });
        var body = await response.Content.ReadAsStringAsync();
        var code = response.IsSuccessStatusCode ? null : JsonDocument.Parse(body).RootElement.GetProperty("code").GetString();
        return (userId, response.StatusCode, code);
    }

    private async Task<TableClient> TableAsync() => await _app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);

    /// <summary>A role row written straight to the table, as rows stored before the rule are: no check, no audit record.</summary>
    private static async Task Insert(TableClient table, RoleAssignment assignment) =>
        await new StudyChange { RoleAssignmentStore.Insert(assignment, "legacy", DateTimeOffset.UnixEpoch) }.SubmitAsync(table, CancellationToken.None);

    /// <summary>
    /// On the app's storage HttpClient: before the first transaction whose body names <paramref name="rowKey"/> goes out,
    /// writes what a concurrent request would have written, on a client of its own outside this pipeline.
    /// </summary>
    private sealed class RaceHandler(string tableName, string rowKey, Func<TableClient, Task> write) : DelegatingHandler
    {
        private int _fired;

        public bool Fired => Volatile.Read(ref _fired) == 1;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("/$batch", StringComparison.Ordinal) && request.Content is not null)
            {
                await request.Content.LoadIntoBufferAsync(cancellationToken);
                if ((await request.Content.ReadAsStringAsync(cancellationToken)).Contains(rowKey, StringComparison.Ordinal) && Interlocked.Exchange(ref _fired, 1) == 0)
                {
                    await write(new TableServiceClient(AzuriteServer.Instance.ConnectionString).GetTableClient(tableName));
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
