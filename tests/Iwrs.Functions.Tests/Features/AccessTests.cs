using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Iwrs.Functions.Tests.Features;

/// <summary>Roles per study and site, stored in Table Storage, enforced on every endpoint.</summary>
public sealed class AccessTests : IAsyncLifetime
{
    /// <summary>Every arm name, kit type code and description, and block size rendering in the blinded seed study.</summary>
    public static readonly string[] UnblindedTerms =
    [
        "CapeOX + pembrolizumab + Lactobacillus johnsonii", "CapeOX + pembrolizumab + placebo", "LJ-CAPS", "PBO-CAPS",
        "Lactobacillus johnsonii capsules", "Placebo capsules", "blockSizes\":[", "\"PBO\"", "\"LJ\"",
    ];

    private readonly IwrsFactory _app = new();

    public async Task InitializeAsync()
    {
        await _app.LoadSeedStudies();
        await _app.Grant("LJ-MCRC", "coord-cn01", "site-coordinator", "CN01");
        await _app.Grant("LJ-MCRC", "pharm-cn01", "pharmacist", "CN01");
        await _app.Grant("LJ-MCRC", "manager-1", "study-manager");
        await _app.Grant("LJ-MCRC", "monitor-1", "medical-monitor");
        await _app.Grant("LJ-MCRC", "depot-1", "depot-manager");
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData(IwrsFactory.Admin, "/api/studies/LJ-MCRC")]
    [InlineData("depot-1", "/api/studies/LJ-MCRC/shipments")]
    [InlineData("coord-cn01", "/api/studies/LJ-MCRC/sites/CN01/subjects")]
    [InlineData("coord-cn01", "/api/studies/LJ-MCRC/configuration")]
    public async Task Responses_AreNeverStoredByABrowser(string user, string path)
    {
        var client = await _app.ClientFor(user);
        using var response = await client.GetAsync(path);
        Assert.True(response.Headers.CacheControl?.NoStore, $"{path} as {user}: {response.StatusCode}, Cache-Control '{response.Headers.CacheControl}'");
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task DevelopmentToken_UnderAnotherHostName_IsRefused()
    {
        // A page whose name an attacker rebinds to 127.0.0.1 sends its own name as Host.
        var client = _app.CreateClient();
        using var rebound = new HttpRequestMessage(HttpMethod.Post, "/api/dev/token") { Content = JsonContent.Create(new { userId = IwrsFactory.Admin }) };
        rebound.Headers.Host = "attacker.example:7071";
        using var refused = await client.SendAsync(rebound);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.DoesNotContain("accessToken", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var loopback = new HttpRequestMessage(HttpMethod.Post, "/api/dev/token") { Content = JsonContent.Create(new { userId = IwrsFactory.Admin }) };
        loopback.Headers.Host = "127.0.0.1:7071";
        using var served = await client.SendAsync(loopback);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task GetSite_UserOfSiteA_IsRefusedAtSiteB()
    {
        var coordinator = await _app.ClientFor("coord-cn01");
        using var own = await coordinator.GetAsync("/api/studies/LJ-MCRC/sites/CN01");
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        using var other = await coordinator.GetAsync("/api/studies/LJ-MCRC/sites/CN02");
        await ProblemAssert.IsProblem(other, HttpStatusCode.Forbidden, "not-authorized-for-site");
    }

    [Fact]
    public async Task GetSite_StudyWideRole_SeesEverySite()
    {
        var manager = await _app.ClientFor("manager-1");
        using var response = await manager.GetAsync("/api/studies/LJ-MCRC/sites/CN03");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("coord-cn01")]
    [InlineData("pharm-cn01")]
    [InlineData("manager-1")]
    [InlineData("monitor-1")]
    public async Task GetConfiguration_BlindedRole_IsRefused(string user)
    {
        var client = await _app.ClientFor(user);
        using var response = await client.GetAsync("/api/studies/LJ-MCRC/configuration");
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden, "unblinded-role-required");
        AssertBlind(problem.GetRawText());
    }

    [Fact]
    public async Task GetConfiguration_DepotManager_IsAllowed()
    {
        var depot = await _app.ClientFor("depot-1");
        using var response = await depot.GetAsync("/api/studies/LJ-MCRC/configuration");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("PBO-CAPS", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("coord-cn01")]
    [InlineData("pharm-cn01")]
    [InlineData("manager-1")]
    [InlineData("monitor-1")]
    public async Task EveryReadableEndpoint_BlindedRole_ShowsNoArmKitTypeOrBlockSize(string user)
    {
        var client = await _app.ClientFor(user);
        foreach (var path in new[] { "/api/studies", "/api/studies/LJ-MCRC", "/api/studies/LJ-MCRC/sites/CN01", "/api/me", "/api/studies/LJ-MCRC/audit", "/api/studies/LJ-MCRC/role-assignments" })
        {
            using var response = await client.GetAsync(path);
            AssertBlind(await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task GetStudy_BlindedRoleInOpenLabelStudy_SeesTheArm()
    {
        await _app.Grant("AKK-MCRC", "coord-akk", "site-coordinator", "CN01");
        var coordinator = await _app.ClientFor("coord-akk");
        var study = await coordinator.GetFromJsonAsync<JsonElement>("/api/studies/AKK-MCRC");
        Assert.Equal("AKK-CAPS", study.GetProperty("arms")[0].GetProperty("kitType").GetString());
    }

    [Fact]
    public async Task GetStudy_BlindedRole_SeesStratificationFactorsButNoArms()
    {
        var coordinator = await _app.ClientFor("coord-cn01");
        var study = await coordinator.GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC");
        Assert.False(study.TryGetProperty("arms", out _));
        Assert.False(study.TryGetProperty("blockSizes", out _));
        Assert.Equal(2, study.GetProperty("stratificationFactors").GetArrayLength());
    }

    [Fact]
    public async Task GrantAndRevoke_AreAuditedAndTakeEffect()
    {
        var manager = await _app.ClientFor("manager-1");
        using var granted = await manager.PostAsJsonAsync("/api/studies/LJ-MCRC/role-assignments", new { userId = "coord-cn02", role = "site-coordinator", siteId = "CN02" });
        Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
        using var again = await manager.PostAsJsonAsync("/api/studies/LJ-MCRC/role-assignments", new { userId = "coord-cn02", role = "site-coordinator", siteId = "CN02" });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        var coordinator = await _app.ClientFor("coord-cn02");
        Assert.Equal(HttpStatusCode.OK, (await coordinator.GetAsync("/api/studies/LJ-MCRC/sites/CN02")).StatusCode);

        using var revoked = await manager.DeleteAsync("/api/studies/LJ-MCRC/role-assignments/coord-cn02/site-coordinator?siteId=CN02");
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        await ProblemAssert.IsProblem(await coordinator.GetAsync("/api/studies/LJ-MCRC/sites/CN02"), HttpStatusCode.NotFound, "study-not-found");
        using var revokedAgain = await manager.DeleteAsync("/api/studies/LJ-MCRC/role-assignments/coord-cn02/site-coordinator?siteId=CN02");
        await ProblemAssert.IsProblem(revokedAgain, HttpStatusCode.NotFound, "role-assignment-not-found");

        var audit = await manager.GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC/audit");
        var mine = audit.EnumerateArray().Where(a => a.GetProperty("target").GetString() == "user:coord-cn02").ToList();
        Assert.Equal(["role.granted", "role.revoked"], mine.Select(a => a.GetProperty("action").GetString()).ToList());
        Assert.All(mine, a => Assert.Equal("manager-1", a.GetProperty("userId").GetString()));
        Assert.All(mine, a => Assert.Equal("study-manager", a.GetProperty("role").GetString()));
        var verify = await manager.GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }

    [Fact]
    public async Task Grant_StudyManagerGrantingUnblindedStatistician_IsRefused()
    {
        var manager = await _app.ClientFor("manager-1");
        using var response = await manager.PostAsJsonAsync("/api/studies/LJ-MCRC/role-assignments", new { userId = "x", role = "unblinded-statistician" });
        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden, "not-authorized");
    }

    [Fact]
    public async Task Grant_SiteCoordinatorGrantingAnything_IsRefused()
    {
        var coordinator = await _app.ClientFor("coord-cn01");
        using var response = await coordinator.PostAsJsonAsync("/api/studies/LJ-MCRC/role-assignments", new { userId = "friend", role = "site-coordinator", siteId = "CN01" });
        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden, "not-authorized");
    }

    [Fact]
    public async Task Grant_InvalidRequest_ListsErrors()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        using var badRole = await admin.PostAsJsonAsync("/api/studies/LJ-MCRC/role-assignments", new { userId = "u1", role = "king" });
        await ProblemAssert.IsProblem(badRole, HttpStatusCode.BadRequest, "validation-failed");
        using var noSite = await admin.PostAsJsonAsync("/api/studies/LJ-MCRC/role-assignments", new { userId = "u1", role = "pharmacist" });
        await ProblemAssert.IsProblem(noSite, HttpStatusCode.BadRequest, "validation-failed");
        using var unknownSite = await admin.PostAsJsonAsync("/api/studies/LJ-MCRC/role-assignments", new { userId = "u1", role = "pharmacist", siteId = "XX99" });
        await ProblemAssert.IsProblem(unknownSite, HttpStatusCode.BadRequest, "validation-failed");
    }

    [Fact]
    public async Task Administrators_GrantedByBootstrapAdministrator_CanThenActAsAdministrator()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        using var granted = await admin.PutAsync("/api/administrators/admin-2", null);
        Assert.Equal(HttpStatusCode.Created, granted.StatusCode);

        var second = await _app.ClientFor("admin-2");
        var me = await second.GetFromJsonAsync<JsonElement>("/api/me");
        Assert.True(me.GetProperty("administrator").GetBoolean());
        Assert.Equal(2, (await second.GetFromJsonAsync<JsonElement>("/api/studies")).GetArrayLength());

        using var revoked = await admin.DeleteAsync("/api/administrators/admin-2");
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        Assert.False((await second.GetFromJsonAsync<JsonElement>("/api/me")).GetProperty("administrator").GetBoolean());
    }

    [Fact]
    public async Task Administrators_NonAdministrator_IsRefused()
    {
        var manager = await _app.ClientFor("manager-1");
        await ProblemAssert.IsProblem(await manager.PutAsync("/api/administrators/manager-1", null), HttpStatusCode.Forbidden, "administrator-required");
    }

    [Fact]
    public async Task Audit_SiteCoordinator_IsRefused()
    {
        var coordinator = await _app.ClientFor("coord-cn01");
        await ProblemAssert.IsProblem(await coordinator.GetAsync("/api/studies/LJ-MCRC/audit"), HttpStatusCode.Forbidden, "not-authorized");
    }

    internal static void AssertBlind(string body)
    {
        foreach (var term in UnblindedTerms)
        {
            Assert.DoesNotContain(term, body, StringComparison.OrdinalIgnoreCase);
        }
    }
}
