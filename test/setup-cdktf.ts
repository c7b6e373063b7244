import { Testing } from "cdktf";
// Adds toHaveResourceWithProperties, toBeValidTerraform and toPlanSuccessfully to expect().
Testing.setupJest();
