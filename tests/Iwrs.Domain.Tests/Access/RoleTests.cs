using Iwrs.Domain.Access;

namespace Iwrs.Domain.Tests.Access;

public sealed class RoleTests
{
    public static TheoryData<Role> AllRoles => new(Enum.GetValues<Role>());

    [Fact]
    public void All_EveryEnumValue_ListedOnce()
    {
        Assert.Equal(Enum.GetValues<Role>(), Roles.All.Order());
    }

    [Fact]
    public void Name_EveryRole_DistinctKebabCase()
    {
        var names = Roles.All.Select(r => r.Name()).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, name =>
        {
            Assert.NotEmpty(name);
            Assert.All(name, c => Assert.True(c is (>= 'a' and <= 'z') or '-', name));
            Assert.False(name.StartsWith('-') || name.EndsWith('-') || name.Contains("--", StringComparison.Ordinal), name);
        });
    }

    [Theory]
    [InlineData(Role.SiteCoordinator, "site-coordinator")]
    [InlineData(Role.Pharmacist, "pharmacist")]
    [InlineData(Role.UnblindingInvestigator, "unblinding-investigator")]
    [InlineData(Role.DepotManager, "depot-manager")]
    [InlineData(Role.StudyManager, "study-manager")]
    [InlineData(Role.MedicalMonitor, "medical-monitor")]
    [InlineData(Role.UnblindedStatistician, "unblinded-statistician")]
    [InlineData(Role.Administrator, "administrator")]
    public void Name_Role_IsWireName(Role role, string name)
    {
        Assert.Equal(name, role.Name());
    }

    [Theory]
    [MemberData(nameof(AllRoles))]
    public void TryParse_NameOfRole_RoundTrips(Role role)
    {
        Assert.True(Roles.TryParse(role.Name(), out var parsed));
        Assert.Equal(role, parsed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("admin")]
    [InlineData("Administrator")]
    [InlineData("SiteCoordinator")]
    [InlineData("site_coordinator")]
    [InlineData(" pharmacist")]
    [InlineData("pharmacist ")]
    [InlineData("PHARMACIST")]
    public void TryParse_UnknownName_Fails(string? name)
    {
        Assert.False(Roles.TryParse(name, out _));
    }

    [Theory]
    [MemberData(nameof(AllRoles))]
    public void IsSiteScoped_Role_ExactlySiteRoles(Role role)
    {
        var expected = role is Role.SiteCoordinator or Role.Pharmacist or Role.UnblindingInvestigator;

        Assert.Equal(expected, role.IsSiteScoped());
    }

    [Theory]
    [MemberData(nameof(AllRoles))]
    public void IsUnblinded_Role_ExactlyDepotStatisticianAdministrator(Role role)
    {
        var expected = role is Role.DepotManager or Role.UnblindedStatistician or Role.Administrator;

        Assert.Equal(expected, role.IsUnblinded());
    }

    [Fact]
    public void IsSiteScopedAndIsUnblinded_Counts_ThreeEach()
    {
        Assert.Equal(3, Roles.All.Count(r => r.IsSiteScoped()));
        Assert.Equal(3, Roles.All.Count(r => r.IsUnblinded()));
        Assert.DoesNotContain(Roles.All, r => r.IsSiteScoped() && r.IsUnblinded());
    }
}
