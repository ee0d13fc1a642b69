using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Iwrs.Functions.Tests.Features;

public sealed class StudyEndpointsTests : IAsyncLifetime
{
    private readonly IwrsFactory _app = new();

    public Task InitializeAsync() => _app.LoadSeedStudies();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task ListStudies_Administrator_SeesBothSeedStudies()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        var studies = await admin.GetFromJsonAsync<JsonElement>("/api/studies");
        var ids = studies.EnumerateArray().Select(s => s.GetProperty("studyId").GetString()).ToList();
        Assert.Equal(["AKK-MCRC", "LJ-MCRC"], ids);
    }

    [Fact]
    public async Task ListStudies_UserWithOneStudy_SeesOnlyThatStudy()
    {
        await _app.Grant("AKK-MCRC", "coord-akk", "site-coordinator", "CN01");
        var coordinator = await _app.ClientFor("coord-akk");
        var studies = await coordinator.GetFromJsonAsync<JsonElement>("/api/studies");
        Assert.Equal(["AKK-MCRC"], studies.EnumerateArray().Select(s => s.GetProperty("studyId").GetString()).ToList());
    }

    [Fact]
    public async Task PutStudy_SameFileTwice_SecondIsUnchangedAndWritesNoAuditRecord()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        var before = await admin.GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC/audit");
        using var again = await admin.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json(IwrsFactory.StudyFile("lj-mcrc.json")));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("unchanged", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());
        var after = await admin.GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC/audit");
        Assert.Equal(before.GetArrayLength(), after.GetArrayLength());
        Assert.Equal(1, after.GetArrayLength());
        Assert.Equal("study.created", after[0].GetProperty("action").GetString());
    }

    [Fact]
    public async Task PutStudy_SubjectPacks_RefusedUnlessThePreviewIsOn()
    {
        var file = JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!;
        file["studyId"] = "LJ-PACKS";
        file["supply"]!["subjectPacks"] = new JsonObject { ["starterSize"] = 4, ["starterTrigger"] = 8, ["packVisits"] = 1 };
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        using var refused = await admin.PutAsync("/api/studies/LJ-PACKS", IwrsFactory.Json(file.ToJsonString()));
        await ProblemAssert.IsProblem(refused, HttpStatusCode.BadRequest, "subject-packs-preview");
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/studies/LJ-PACKS")).StatusCode);

        await using var preview = new IwrsFactory(_app.TableName, new() { ["Api:SubjectPacksPreview"] = "true" });
        var previewAdmin = await preview.ClientFor(IwrsFactory.Admin);
        using var loaded = await previewAdmin.PutAsync("/api/studies/LJ-PACKS", IwrsFactory.Json(file.ToJsonString()));
        Assert.Equal(HttpStatusCode.Created, loaded.StatusCode);
        var configuration = await previewAdmin.GetFromJsonAsync<JsonElement>("/api/studies/LJ-PACKS/configuration");
        Assert.Equal(4, configuration.GetProperty("supply").GetProperty("subjectPacks").GetProperty("starterSize").GetInt32());
    }

    [Fact]
    public async Task PutStudy_NewVersion_UpdatesAndAudits()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        var file = JsonNode.Parse(IwrsFactory.StudyFile("akk-mcrc.json"))!;
        file["version"] = 2;
        file["visitSchedule"]!["dispensingVisits"] = 60;
        using var response = await admin.PutAsync("/api/studies/AKK-MCRC", IwrsFactory.Json(file.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("updated", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());

        var study = await admin.GetFromJsonAsync<JsonElement>("/api/studies/AKK-MCRC");
        Assert.Equal(2, study.GetProperty("version").GetInt32());
        Assert.Equal(60, study.GetProperty("visitSchedule").GetProperty("dispensingVisits").GetInt32());
        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/studies/AKK-MCRC/audit");
        Assert.Equal(["study.created", "study.updated"], audit.EnumerateArray().Select(a => a.GetProperty("action").GetString()).ToList());
    }

    [Fact]
    public async Task PutStudy_ChangedContentSameVersion_IsVersionConflict()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        var file = JsonNode.Parse(IwrsFactory.StudyFile("akk-mcrc.json"))!;
        file["title"] = "Another title";
        using var response = await admin.PutAsync("/api/studies/AKK-MCRC", IwrsFactory.Json(file.ToJsonString()));
        await ProblemAssert.IsProblem(response, HttpStatusCode.Conflict, "study-version-conflict");
    }

    [Fact]
    public async Task PutStudy_InvalidConfiguration_ListsEveryError()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        var file = JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!;
        file["randomization"]!["blockSizes"] = new JsonArray(3, 4);
        file["arms"]![1]!["kitType"] = "NOPE";
        file["sites"]![0]!["timeZone"] = "Mars/Olympus";
        file.AsObject().Remove("title");
        using var response = await admin.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json(file.ToJsonString()));
        var problem = await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest, "validation-failed");
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToHashSet();
        Assert.Contains("randomization.blockSizes[0]", fields);
        Assert.Contains("arms[1].kitType", fields);
        Assert.Contains("sites[0].timeZone", fields);
        Assert.Contains("title", fields);
        Assert.All(problem.GetProperty("errors").EnumerateArray(), e => Assert.False(string.IsNullOrEmpty(e.GetProperty("reason").GetString())));
    }

    [Fact]
    public async Task PutStudy_BodyForAnotherStudy_IsRefused()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        using var response = await admin.PutAsync("/api/studies/OTHER", IwrsFactory.Json(IwrsFactory.StudyFile("lj-mcrc.json")));
        await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest, "study-id-mismatch");
    }

    [Fact]
    public async Task PutStudy_NewStudyByNonAdministrator_IsRefused()
    {
        await _app.Grant("LJ-MCRC", "stat-1", "unblinded-statistician");
        var statistician = await _app.ClientFor("stat-1");
        var file = JsonNode.Parse(IwrsFactory.StudyFile("akk-mcrc.json"))!;
        file["studyId"] = "NEW-STUDY";
        using var response = await statistician.PutAsync("/api/studies/NEW-STUDY", IwrsFactory.Json(file.ToJsonString()));
        await ProblemAssert.IsProblem(response, HttpStatusCode.Forbidden, "administrator-required");
    }

    [Fact]
    public async Task PutStudy_UpdateByUnblindedStatistician_IsAllowed_ByStudyManager_IsRefused()
    {
        await _app.Grant("LJ-MCRC", "stat-1", "unblinded-statistician");
        await _app.Grant("LJ-MCRC", "manager-1", "study-manager");
        var file = JsonNode.Parse(IwrsFactory.StudyFile("lj-mcrc.json"))!;
        file["version"] = 2;
        file["supply"]!["maximumLevel"] = file["supply"]!["maximumLevel"]!.GetValue<int>() + 2;

        var manager = await _app.ClientFor("manager-1");
        using var refused = await manager.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json(file.ToJsonString()));
        await ProblemAssert.IsProblem(refused, HttpStatusCode.Forbidden, "unblinded-role-required");

        var statistician = await _app.ClientFor("stat-1");
        using var allowed = await statistician.PutAsync("/api/studies/LJ-MCRC", IwrsFactory.Json(file.ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task GetStudy_UnknownStudy_IsNotFound()
    {
        var admin = await _app.ClientFor(IwrsFactory.Admin);
        using var response = await admin.GetAsync("/api/studies/NO-SUCH-STUDY");
        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound, "study-not-found");
    }

    [Fact]
    public async Task GetStudy_UserWithNoRoleInIt_IsNotFoundRatherThanForbidden()
    {
        await _app.Grant("AKK-MCRC", "coord-akk", "site-coordinator", "CN01");
        var coordinator = await _app.ClientFor("coord-akk");
        using var response = await coordinator.GetAsync("/api/studies/LJ-MCRC");
        await ProblemAssert.IsProblem(response, HttpStatusCode.NotFound, "study-not-found");
    }

    [Fact]
    public async Task GetConfiguration_UnblindedStatistician_GetsTheFullFile()
    {
        await _app.Grant("LJ-MCRC", "stat-1", "unblinded-statistician");
        var statistician = await _app.ClientFor("stat-1");
        var config = await statistician.GetFromJsonAsync<JsonElement>("/api/studies/LJ-MCRC/configuration");
        Assert.Equal([4, 6], config.GetProperty("randomization").GetProperty("blockSizes").EnumerateArray().Select(e => e.GetInt32()).ToList());
        Assert.Equal("LJ-CAPS", config.GetProperty("arms")[0].GetProperty("kitType").GetString());
    }
}
