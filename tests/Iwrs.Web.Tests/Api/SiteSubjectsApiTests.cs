using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Iwrs.Web.Tests.Api;

/// <summary><c>GET /api/studies/{studyId}/sites/{siteId}/subjects</c>, added for the coordinator's subject list: the
/// site's subjects only, blinded views for blinded roles, and refused for other sites' staff.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SiteSubjectsApiTests(WebAppServer web)
{
    private const string Path = $"studies/{WebAppServer.Study}/sites/CN01/subjects";

    [Fact]
    public async Task ListSiteSubjects_BlindedCoordinator_GetsTheSitesSubjectsWithoutArmOrKitType()
    {
        await web.Api("coordinator-cn01", HttpMethod.Post, $"studies/{WebAppServer.Study}/subjects/API-001/randomize",
            new { siteId = "CN01", eligibilityConfirmed = true, stratificationFactors = new Dictionary<string, string> { ["ecog"] = "1", ["liver-mets"] = "no" } });

        var blinded = await web.Api("coordinator-cn01", HttpMethod.Get, Path);
        var subject = blinded.EnumerateArray().Single(s => s.GetProperty("subjectId").GetString() == "API-001");
        Assert.All(blinded.EnumerateArray(), s => Assert.Equal("CN01", s.GetProperty("siteId").GetString()));
        // Withheld: absent or null (the API leaves null properties out).
        foreach (var name in new[] { "arm", "kitType", "stratum", "listPosition" })
        {
            Assert.False(subject.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null, $"the blinded view has {name}: {subject}");
        }

        var unblinded = await web.Api("statistician", HttpMethod.Get, Path);
        var same = unblinded.EnumerateArray().Single(s => s.GetProperty("subjectId").GetString() == "API-001");
        Assert.Equal(subject.GetProperty("number").GetString(), same.GetProperty("number").GetString());
        Assert.Equal(JsonValueKind.String, same.GetProperty("arm").ValueKind);
    }

    [Theory]
    [InlineData($"studies/{WebAppServer.Study}/sites/CN02/subjects", HttpStatusCode.Forbidden, "not-authorized-for-site")]
    [InlineData($"studies/{WebAppServer.Study}/sites/XX99/subjects", HttpStatusCode.Forbidden, "not-authorized-for-site")]
    [InlineData("studies/NO-SUCH/sites/CN01/subjects", HttpStatusCode.NotFound, "study-not-found")]
    public async Task ListSiteSubjects_OutsideTheCallersSites_IsRefused(string path, HttpStatusCode status, string code)
    {
        using var http = new HttpClient { BaseAddress = new Uri(web.Url) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/" + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await web.TokenAsync("coordinator-cn01"));
        using var response = await http.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(code, body.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ListSiteSubjects_StudyWideRoleAtAnUnknownSite_IsSiteNotFound()
    {
        using var http = new HttpClient { BaseAddress = new Uri(web.Url) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/studies/{WebAppServer.Study}/sites/XX99/subjects");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await web.TokenAsync("study-manager"));
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("site-not-found", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
    }
}
