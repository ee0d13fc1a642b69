namespace Iwrs.Domain.Tests;

public sealed class DomainAssemblyTests
{
    [Fact]
    public void Domain_ReferencedAssemblies_OnlyFrameworkAssemblies()
    {
        var references = typeof(Result<>).Assembly.GetReferencedAssemblies().Select(a => a.Name ?? "").ToList();

        Assert.NotEmpty(references);
        Assert.All(references, name => Assert.True(
            name == "System" || name == "netstandard"
            || name.StartsWith("System.", StringComparison.Ordinal)
            || name.StartsWith("Microsoft.Win32.", StringComparison.Ordinal),
            $"Iwrs.Domain references {name}"));
    }

    [Fact]
    public void Domain_Types_AllInIwrsDomainNamespaces()
    {
        var types = typeof(Result<>).Assembly.GetTypes().Where(t => t.IsPublic).ToList();

        Assert.NotEmpty(types);
        Assert.All(types, t => Assert.StartsWith("Iwrs.Domain", t.Namespace, StringComparison.Ordinal));
    }
}
