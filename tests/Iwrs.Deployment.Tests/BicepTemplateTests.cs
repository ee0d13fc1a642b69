namespace Iwrs.Deployment.Tests;

/// <summary>Every template compiles and lints with no diagnostic at all; infra/bicepconfig.json makes the core rules errors.</summary>
public sealed class BicepTemplateTests
{
    public static TheoryData<string> Templates() => new(BicepCli.Templates());

    [Theory]
    [MemberData(nameof(Templates))]
    public void Build_Template_CompilesWithoutDiagnostics(string template)
    {
        var result = BicepCli.Run(BicepCli.InfraDirectory, "build", template, "--stdout");

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(string.Empty, result.StandardError);
        Assert.StartsWith("{", result.StandardOutput.TrimStart(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void Lint_Template_HasNoDiagnostics(string template)
    {
        var result = BicepCli.Run(BicepCli.InfraDirectory, "lint", template);

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(string.Empty, result.Output.Trim());
    }

    [Fact]
    public void BuildParams_ExampleParameters_CompileWithoutDiagnostics()
    {
        var result = BicepCli.Run(BicepCli.InfraDirectory, "build-params", "main.bicepparam", "--stdout");

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(string.Empty, result.StandardError);
    }

    [Fact]
    public void Templates_CoverMainAndItsModules()
    {
        var templates = BicepCli.Templates().ToList();

        Assert.Contains("main.bicep", templates);
        Assert.Contains(Path.Combine("modules", "app.bicep"), templates);
    }

    /// <summary>The lint gate can fail: a secure value passed to a plain input, and an unused parameter, are errors under our config.</summary>
    [Fact]
    public void Lint_SecureInputFromPlainValueAndUnusedParameter_FailsNamingBothRules()
    {
        var directory = Directory.CreateTempSubdirectory("iwrs-lint-");
        try
        {
            File.Copy(Path.Combine(BicepCli.InfraDirectory, "bicepconfig.json"), Path.Combine(directory.FullName, "bicepconfig.json"));
            File.WriteAllText(Path.Combine(directory.FullName, "bad.bicep"), """
                param location string = resourceGroup().location
                param adminPassword string
                param unused string

                resource vm 'Microsoft.Compute/virtualMachines@2024-07-01' = {
                  name: 'vm'
                  location: location
                  properties: {
                    osProfile: {
                      computerName: 'vm'
                      adminUsername: 'operator'
                      adminPassword: adminPassword
                    }
                  }
                }
                """);

            var result = BicepCli.Run(directory.FullName, "lint", "bad.bicep");

            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("Error use-secure-value-for-secure-inputs", result.Output, StringComparison.Ordinal);
            Assert.Contains("Error no-unused-params", result.Output, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
