using Microsoft.AspNetCore.Hosting.StaticWebAssets;

namespace Iwrs.LocalHost;

/// <summary>A demo user as the local sign-in page lists it.</summary>
public sealed record DemoUser(string UserId, string Roles);

/// <summary>
/// Serves the web app (src/Iwrs.Web) beside <c>/api</c>, on the same origin (no CORS): its files straight from the
/// build's static web assets manifest (<c>Iwrs.Web.staticwebassets.runtime.json</c>, which names the project's
/// wwwroot and the framework files the build made), so nothing is published at run time. Every other path that is
/// not a file gets <c>index.html</c> (the app's own router). Development only: deployed, the files come from a
/// <c>dotnet publish</c> of the web app.
/// </summary>
public static class LocalWebApp
{
    /// <summary>
    /// Adds the web app to <paramref name="app"/> (before it starts). <paramref name="demoUsers"/> is read on each
    /// request of <c>/local/demo-users.json</c>, the list the development sign-in page shows.
    /// </summary>
    public static void ServeWebApp(this WebApplication app, string manifestPath, Func<IReadOnlyList<DemoUser>> demoUsers)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (!File.Exists(manifestPath))
        {
            throw new FileNotFoundException($"The web app's static web assets manifest is missing: build src/Iwrs.Web first ({manifestPath}).", manifestPath);
        }

        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [WebHostDefaults.StaticWebAssetsKey] = manifestPath })
            .Build();
        StaticWebAssetsLoader.UseStaticWebAssets(app.Environment, configuration);
        // Only the manifest's files can be reached, so unknown extensions (.pdb, .dat, .blat) are served as bytes.
        app.UseStaticFiles(new StaticFileOptions { ServeUnknownFileTypes = true, DefaultContentType = "application/octet-stream" });
        app.MapGet("/local/demo-users.json", () => TypedResults.Ok(demoUsers()));
        app.MapFallbackToFile("index.html");
    }

    /// <summary>The manifest path a launcher was built with (AssemblyMetadata <c>IwrsWebManifest</c>, set by its project file).</summary>
    public static string ManifestPathOf(System.Reflection.Assembly assembly) =>
        assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "IwrsWebManifest")?.Value
        ?? throw new InvalidOperationException(assembly.GetName().Name + " was built without the IwrsWebManifest metadata (a ProjectReference to src/Iwrs.Web).");
}
