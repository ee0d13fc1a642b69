using Iwrs.Domain.Access;

namespace Iwrs.Domain.Tests.Access;

public sealed class RoleAssignmentTests
{
    private static string[] Fields(Result<RoleAssignment> result)
    {
        Assert.False(result.IsSuccess, "Expected the assignment to be refused.");
        Assert.Equal("validation-failed", result.Error!.Code);
        return result.Error.Errors!.Select(e => e.Field).Order(StringComparer.Ordinal).ToArray();
    }

    [Theory]
    [InlineData("site-coordinator", Role.SiteCoordinator)]
    [InlineData("pharmacist", Role.Pharmacist)]
    [InlineData("unblinding-investigator", Role.UnblindingInvestigator)]
    public void Create_SiteRoleWithSite_Accepted(string role, Role expected)
    {
        var a = RoleAssignment.Create("user-1", role, "LJ-MCRC", "CN01").Value;

        Assert.Equal(new RoleAssignment("user-1", expected, "LJ-MCRC", "CN01"), a);
    }

    [Theory]
    [InlineData("site-coordinator")]
    [InlineData("pharmacist")]
    [InlineData("unblinding-investigator")]
    public void Create_SiteRoleWithoutSite_SiteRequired(string role)
    {
        Assert.Equal(["siteId"], Fields(RoleAssignment.Create("user-1", role, "LJ-MCRC", null)));
    }

    [Theory]
    [InlineData("depot-manager", Role.DepotManager)]
    [InlineData("study-manager", Role.StudyManager)]
    [InlineData("medical-monitor", Role.MedicalMonitor)]
    [InlineData("unblinded-statistician", Role.UnblindedStatistician)]
    public void Create_StudyRoleWithoutSite_Accepted(string role, Role expected)
    {
        var a = RoleAssignment.Create("user-1", role, "LJ-MCRC", null).Value;

        Assert.Equal(new RoleAssignment("user-1", expected, "LJ-MCRC", null), a);
    }

    [Theory]
    [InlineData("depot-manager")]
    [InlineData("study-manager")]
    [InlineData("medical-monitor")]
    [InlineData("unblinded-statistician")]
    public void Create_StudyRoleWithSite_SiteForbidden(string role)
    {
        Assert.Equal(["siteId"], Fields(RoleAssignment.Create("user-1", role, "LJ-MCRC", "CN01")));
    }

    [Fact]
    public void Create_AdministratorOutsideStudy_Accepted()
    {
        var a = RoleAssignment.Create("root", "administrator", null, null).Value;

        Assert.Equal(new RoleAssignment("root", Role.Administrator, null, null), a);
    }

    [Fact]
    public void Create_AdministratorInStudy_Refused()
    {
        Assert.Equal(["role"], Fields(RoleAssignment.Create("root", "administrator", "LJ-MCRC", null)));
    }

    [Fact]
    public void Create_AdministratorWithSite_SiteForbidden()
    {
        Assert.Equal(["siteId"], Fields(RoleAssignment.Create("root", "administrator", null, "CN01")));
    }

    [Theory]
    [InlineData("site-coordinator", "CN01")]
    [InlineData("study-manager", null)]
    [InlineData("unblinded-statistician", null)]
    public void Create_OtherRoleOutsideStudy_Refused(string role, string? site)
    {
        Assert.Equal(["role"], Fields(RoleAssignment.Create("user-1", role, null, site)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("no spaces")]
    [InlineData("a/b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("josé")]
    [InlineData("user@example.org")]
    public void Create_BadUserId_Refused(string? userId)
    {
        Assert.Equal(["userId"], Fields(RoleAssignment.Create(userId, "study-manager", "LJ-MCRC", null)));
    }

    [Fact]
    public void Create_UserIdLength_AtMost128()
    {
        Assert.True(RoleAssignment.Create(new string('u', 128), "study-manager", "LJ-MCRC", null).IsSuccess);
        Assert.Equal(["userId"], Fields(RoleAssignment.Create(new string('u', 129), "study-manager", "LJ-MCRC", null)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("CN 01")]
    [InlineData("CN/01")]
    [InlineData("CN#01")]
    [InlineData("CN|01")]
    public void Create_BadSiteId_Refused(string siteId)
    {
        Assert.Equal(["siteId"], Fields(RoleAssignment.Create("user-1", "pharmacist", "LJ-MCRC", siteId)));
    }

    [Fact]
    public void Create_SiteIdOfSixtyFiveCharacters_Refused()
    {
        Assert.Equal(["siteId"], Fields(RoleAssignment.Create("user-1", "pharmacist", "LJ-MCRC", new string('s', 65))));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("admin")]
    [InlineData("Study-Manager")]
    public void Create_UnknownRole_RefusedListingRoles(string? role)
    {
        var result = RoleAssignment.Create("user-1", role, "LJ-MCRC", null);

        Assert.Equal(["role"], Fields(result));
        Assert.Contains("unblinding-investigator", result.Error!.Errors![0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_SeveralProblems_AllReported()
    {
        var result = RoleAssignment.Create("bad user", "nobody", "LJ-MCRC", "bad/site");

        Assert.Equal(["role", "siteId", "userId"], Fields(result));
        Assert.Equal("The role assignment is not valid.", result.Error!.Message);
    }

    [Fact]
    public void Create_StudyRoleWithMalformedSite_BothSiteProblemsReported()
    {
        Assert.Equal(["siteId", "siteId", "userId"], Fields(RoleAssignment.Create("", "study-manager", "LJ-MCRC", "a b")));
    }
}
