using Microsoft.AspNetCore.Hosting.StaticWebAssets;
using Microsoft.Extensions.FileProviders;

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
        // The deployed site's own headers (staticwebapp.config.json's globalHeaders: the CSP among them) on every
        // response but the API's, so the app runs here under the policy it runs under deployed.
        var headers = GlobalHeaders(app.Environment.WebRootFileProvider);
        app.Use((context, next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var (name, value) in headers)
                {
                    context.Response.Headers[name] = value;
                }
            }

            return next(context);
        });
        // Only the manifest's files can be reached, so unknown extensions (.pdb, .dat, .blat) are served as bytes.
        app.UseStaticFiles(new StaticFileOptions { ServeUnknownFileTypes = true, DefaultContentType = "application/octet-stream" });
        app.MapGet("/local/demo-users.json", () => TypedResults.Ok(demoUsers()));
        app.MapFallbackToFile("index.html");
    }

    /// <summary>The token in staticwebapp.config.json's CSP that stands for the hash of index.html's import map (an
    /// inline script, so <c>script-src</c> must name its hash). The file holds the token because the map changes with
    /// every build; whoever serves the files puts the hash in (here <see cref="GlobalHeaders"/>, deployed the web
    /// project's publish).</summary>
    public const string ImportMapHashToken = "'sha256-{importmap}'";

    /// <summary>staticwebapp.config.json's <c>globalHeaders</c> as the files in <paramref name="files"/> need them:
    /// the import map's hash in place of <see cref="ImportMapHashToken"/>.</summary>
    public static IReadOnlyDictionary<string, string> GlobalHeaders(IFileProvider files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var hash = ImportMapHashSource(ReadText(files, "index.html"));
        var config = System.Text.Json.Nodes.JsonNode.Parse(ReadText(files, "staticwebapp.config.json"))!;
        return config["globalHeaders"]!.AsObject().ToDictionary(
            h => h.Key, h => ((string)h.Value!).Replace(ImportMapHashToken, hash, StringComparison.Ordinal), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The CSP source that allows index.html's import map (<c>'sha256-…'</c> of its text, line ends as the
    /// HTML parser leaves them), or empty when the page has none.</summary>
    public static string ImportMapHashSource(string indexHtml)
    {
        ArgumentNullException.ThrowIfNull(indexHtml);
        var map = System.Text.RegularExpressions.Regex.Match(indexHtml, "<script type=\"importmap\">(.*?)</script>", System.Text.RegularExpressions.RegexOptions.Singleline);
        if (!map.Success)
        {
            return "";
        }

        var text = map.Groups[1].Value.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        return "'sha256-" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text))) + "'";
    }

    private static string ReadText(IFileProvider files, string path)
    {
        var file = files.GetFileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"The web app's {path} is not among its files: build src/Iwrs.Web first.", path);
        }

        using var reader = new StreamReader(file.CreateReadStream());
        return reader.ReadToEnd();
    }

    /// <summary>The manifest path a launcher was built with (AssemblyMetadata <c>IwrsWebManifest</c>, set by its project file).</summary>
    public static string ManifestPathOf(System.Reflection.Assembly assembly) =>
        assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "IwrsWebManifest")?.Value
        ?? throw new InvalidOperationException(assembly.GetName().Name + " was built without the IwrsWebManifest metadata (a ProjectReference to src/Iwrs.Web).");
}
