using Iwrs.Functions;

var app = IwrsApp.Build(args);
await app.RunAsync();

/// <summary>The entry point, visible to WebApplicationFactory in the end-to-end tests.</summary>
public partial class Program;
