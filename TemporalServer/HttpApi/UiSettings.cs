using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stateset.TemporalServer.HttpApi;

/// <summary>
/// <c>GET /api/v1/settings</c>, which ui-server (not the Temporal frontend) answers, in its Go struct's PascalCase.
/// Features the embedded engine lacks, or whose pages this build of the UI leaves out, are switched off here so the UI
/// hides them instead of failing.
/// </summary>
internal static class UiSettings
{
    /// <summary>The UI package version; at 2.23.0 and above the UI stops double-encoding path parameters.</summary>
    public const string UiVersion = "2.38.0";

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static string Render(string defaultNamespace) => JsonSerializer.Serialize(
        new
        {
            Auth = new { Enabled = false, Options = Array.Empty<string>() },
            BannerText = string.Empty,
            DefaultNamespace = defaultNamespace,
            ShowTemporalSystemNamespace = false,
            FeedbackURL = string.Empty,
            NotifyOnNewVersion = false,
            Codec = new { Endpoint = string.Empty, PassAccessToken = false, IncludeCredentials = false },
            Version = UiVersion,
            DisableWriteActions = false,
            WorkflowTerminateDisabled = false,
            WorkflowCancelDisabled = false,
            WorkflowSignalDisabled = false,

            // Updates run on the engine, but this build has no page to send one from.
            WorkflowUpdateDisabled = true,

            // The engine implements no reset, batch operations or schedules.
            WorkflowResetDisabled = true,
            BatchActionsDisabled = true,

            // Starting from the UI needs its start-workflow page, which this build leaves out.
            StartWorkflowDisabled = true,
            HideWorkflowQueryErrors = false,
            RefreshWorkflowCountsDisabled = false,
        },
        Json);
}
